"""Reading back a graphviz.Digraph's statements, and the passes gradstep adds on top of torchviz.

torchviz draws shapes only. gradstep appends node statements that extend a
tensor node's label with its value and .grad (as micrograd's drawings do), and
others that highlight the node backward() is running. Later DOT statements for
the same node override its attributes, so the torchviz picture underneath is
untouched. Live drawings (torchviz.make_dot) and drawings from a recording go
through the same passes, so the two pictures match statement for statement.
No torch here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tui.render.events import node_words
from tui.render.formatting import format_number, format_values
from tui.render.safe_text import visible
from tui.steps.model import Graph, NodeEvent, TensorView

# Values kept in a label in full up to this many elements; bigger tensors get a summary line.
LABEL_ELEMENTS = 6
# A value and a grad share one line when together they are this short.
ONE_LINE_CHARS = 40
CURRENT_FILL = "gold"
DONE_FILL = "palegreen"

# A DOT token as the graphviz package writes it: a bare word or a quoted string (with \" escapes).
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|->|\[|\]|=|[^\s\[\]=";]+)', re.DOTALL)


@dataclass(frozen=True)
class Statement:
    """One node or edge statement of a Digraph body, with its attributes unquoted."""

    kind: Literal["node", "edge"]
    names: tuple[str, ...]  # (node,) or (tail, head)
    attrs: tuple[tuple[str, str], ...]


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def label_text(text: str) -> str:
    """A label for the graphviz package: always a quoted string, never an HTML label, with no escString codes.

    Names and values come from a recording: `<<…<IMG SRC="/path"/>…>>` as a name must stay text, not
    make Graphviz read a local file into the picture. `graphviz.escape` quotes it (and doubles
    backslashes, so `\\N` or `\\G` stay text too); control characters are shown as escapes first.
    Anything gradstep styles (fill colours, pen widths) is an attribute from its own constants.
    """
    import graphviz  # deferred: only drawing needs the package

    quoted: str = graphviz.escape(visible(text, multiline=True))  # a NoHtml str: str() of it would lose the mark
    return quoted


def _unquote(token: str) -> str:
    """A quoted DOT string back to its text: the inverse of the quoting `label_text` asks for."""
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        return _ESCAPED.sub(r"\1", token[1:-1])
    return token


def parse_statement(line: str) -> Statement | None:
    """Parse one body line the graphviz package wrote (None for graph/node/edge defaults)."""
    tokens = [match.group(1) for match in _TOKEN.finditer(line.strip())]
    if not tokens or tokens[0] in ("graph", "node", "edge"):
        return None
    kind: Literal["node", "edge"]
    names: tuple[str, ...]
    if len(tokens) >= 3 and tokens[1] == "->":
        kind, names, rest = "edge", (_unquote(tokens[0]), _unquote(tokens[2])), tokens[3:]
    else:
        kind, names, rest = "node", (_unquote(tokens[0]),), tokens[1:]
    attrs: list[tuple[str, str]] = []
    if rest[:1] == ["["]:
        body = rest[1:-1] if rest[-1:] == ["]"] else rest[1:]
        for position in range(0, len(body) - 2, 3):
            key, equals, value = body[position : position + 3]
            if equals == "=":
                attrs.append((_unquote(key), _unquote(value)))
    return Statement(kind, names, tuple(attrs))


def statements(body: Iterable[str]) -> list[Statement]:
    """Every node and edge statement of a Digraph body, in order."""
    parsed = (parse_statement(line) for line in body)
    return [statement for statement in parsed if statement is not None]


def node_names(body: Iterable[str]) -> set[str]:
    """The distinct nodes a Digraph body declares or joins by an edge: what Graphviz will lay out.

    Counted by name, not by line: the value and highlight passes restate nodes, and a label may hold
    `->`. Subgraph brackets and `key=value` graph attributes are not nodes.
    """
    names: set[str] = set()
    for line in body:
        tokens = [match.group(1) for match in _TOKEN.finditer(line.strip())]
        if not tokens or tokens[0] in ("subgraph", "{", "}") or tokens[1:2] == ["="]:
            continue
        statement = parse_statement(line)
        if statement is not None:
            names.update(statement.names)
    return names


def final_labels(body: Iterable[str]) -> dict[str, str]:
    """Each node's label as Graphviz will show it (the last statement that sets it wins), in first-seen order."""
    labels: dict[str, str] = {}
    for statement in statements(body):
        for name in statement.names:
            labels.setdefault(name, name)
        if statement.kind == "node":
            for key, value in statement.attrs:
                if key == "label":
                    labels[statement.names[0]] = value
    return labels


def _shape_text(view: TensorView) -> str:
    return "x".join(str(size) for size in view.shape) or "scalar"


def _flat(values: Any) -> list[float]:
    if isinstance(values, tuple):
        return [number for item in values for number in _flat(item)]
    try:
        return [float(values)]
    except (TypeError, ValueError):
        return []


def _stats_text(values: Any) -> str:
    numbers = [number for number in _flat(values) if number == number and abs(number) != float("inf")]
    if not numbers:
        return "no finite values"
    mean = sum(numbers) / len(numbers)
    return f"min {format_number(min(numbers))} max {format_number(max(numbers))} mean {format_number(mean)}"


def _values_text(values: Any, summary: Any, numel: int) -> str:
    if values is not None:
        if numel <= LABEL_ELEMENTS:
            return format_values(values)
        return _stats_text(values)
    if summary is not None:
        return (
            f"min {format_number(summary.min)} max {format_number(summary.max)} "
            f"mean {format_number(summary.mean)}"
        )
    return "?"


def tensor_values_text(view: TensorView) -> str:
    """`value 3.0000 | grad -24.0000`; a summary line for big tensors; grad only where a grad can be."""
    value = f"value {_values_text(view.value, view.summary, view.numel)}"
    if not (view.has_grad or (view.is_leaf and view.requires_grad)):
        return value
    grad = f"grad {_values_text(view.grad, view.grad_summary, view.numel)}" if view.has_grad else "grad None"
    joiner = " | " if len(value) + len(grad) <= ONE_LINE_CHARS else "\n"
    return value + joiner + grad


def add_values(dot: Any, views: Mapping[str, TensorView]) -> None:
    """Append each tensor node's value and .grad to its label (nodes in first-seen order)."""
    labels = final_labels(dot.body)
    for name, label in labels.items():
        view = views.get(name)
        if view is not None:
            dot.node(name, label_text(label + "\n" + tensor_values_text(view)))


def _view_text(view: TensorView | None) -> str:
    return "None" if view is None else _values_text(view.value, view.summary, view.numel)


def _event_text(event: NodeEvent, graph: Graph | None) -> str:
    """The grad that arrived at the node and the chain rule per input: the wording of every other view."""
    words = node_words(event, graph)
    return "\n".join([words.arrived, *words.edges])


def add_highlight(
    dot: Any, event: NodeEvent, node_names: Mapping[int, str], *, values: bool, graph: Graph | None = None
) -> None:
    """Mark the nodes backward() already ran, and the one it is running with the grads in and out."""
    labels = final_labels(dot.body)
    for node_id in event.done:
        name = node_names.get(node_id)
        if name is not None and node_id != event.node_id:
            dot.node(name, fillcolor=DONE_FILL)
    name = node_names.get(event.node_id)
    if name is None:
        return
    label = labels.get(name, name)
    if values:
        label += "\n" + _event_text(event, graph)
    dot.node(name, label_text(label), fillcolor=CURRENT_FILL, penwidth="2")


def canonical(body: Iterable[str]) -> list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """The statements with node names replaced by their order of first appearance (to compare two drawings)."""
    order: dict[str, str] = {}
    result: list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = []
    for statement in statements(body):
        names = tuple(order.setdefault(name, f"n{len(order)}") for name in statement.names)
        result.append((statement.kind, names, statement.attrs))
    return result


# Slides: values on every node, a title and a legend. Labels built here are escaped with the graphviz
# package's escape(), so a recorded name can never become an HTML label or a DOT escape.


# Saved under these names, a tensor is the node's own output (exp, tanh, sigmoid, pow with a tensor exponent).
OUTPUT_KEYS = frozenset({"result"})
# For two-input ops torch saves input k under these names; next[k] is the node that made it.
INPUT_SLOTS = {"self": 0, "other": 1}


def _saved_base(key: str) -> str:
    return key.removeprefix("_saved_").partition("[")[0]


def node_outputs(graphs: Iterable[Graph]) -> dict[int, TensorView]:
    """Node id -> the value of the tensor that node made, read from what the graph recorded.

    The engine keeps named tensors and what each node saved for backward, not every
    intermediate result. A tensor a node saved is the output of the node before it
    (its grad_fn names that node's class: `(15 - x) ** 2` saves `15 - x`, made by
    RsubBackward1), or the node's own output when saved as `result` (exp, tanh,
    sigmoid). Graphs are read in order and the first value found wins: pass the
    step's graph first, then earlier ones whose saved tensors backward() had not
    freed yet (node ids are stable across steps, one per autograd node).
    """
    outputs: dict[int, TensorView] = {}
    for graph in graphs:
        by_id = {node.id: node for node in graph.nodes}
        for node in graph.nodes:
            for key, view in node.saved:
                if view is None or view.is_leaf or view.grad_fn is None:
                    continue
                base = _saved_base(key)
                if base in OUTPUT_KEYS and view.grad_fn == node.name:
                    outputs.setdefault(node.id, view)
                    continue
                makers = [next_id for next_id in node.next if next_id in by_id and by_id[next_id].name == view.grad_fn]
                if len(set(makers)) > 1 and base in INPUT_SLOTS and len(node.next) > INPUT_SLOTS[base]:
                    slot = node.next[INPUT_SLOTS[base]]
                    makers = [slot] if slot in makers else []
                if len(set(makers)) == 1:
                    outputs.setdefault(makers[0], view)
                elif not makers and view.grad_fn == node.name:  # a custom Function's ctx.save_for_backward(output)
                    outputs.setdefault(node.id, view)
    return outputs


def add_node_values(
    dot: Any,
    graph: Graph,
    views: Mapping[str, TensorView],
    fn_names: Mapping[int, str],
    received: Mapping[int, tuple[TensorView | None, ...]],
    outputs: Mapping[int, TensorView] | None = None,
) -> None:
    """Each function node also says the tensor it made (its value, by name when the script named it) and the grad that reached it.

    `outputs` (node id -> value, from node_outputs) gives the unnamed intermediate results their values.
    """
    import graphviz  # the escaping rule lives in the graphviz package

    from tui.render.chain_rule import tensor_names

    names = tensor_names(graph)
    made = node_outputs([graph]) if outputs is None else outputs
    labels = final_labels(dot.body)
    for node_id, fn in fn_names.items():
        parts: list[str] = []
        name = names.get(node_id)
        view = views.get(name) if name is not None else None
        if name is not None and view is not None:
            parts.append(f"{name} = {_values_text(view.value, view.summary, view.numel)}")
        elif node_id in made:
            output = made[node_id]
            parts.append(f"value {_values_text(output.value, output.summary, output.numel)}")
        grads = received.get(node_id)
        if grads and len(grads) == 1:
            parts.append(f"grad {_view_text(grads[0])}")
        if parts:
            dot.node(fn, graphviz.escape(labels.get(fn, fn) + "\n" + " | ".join(parts)))


LEGEND = (
    ("darkolivegreen1", "the tensor drawn"),
    ("lightblue", "leaf tensor (requires grad)"),
    ("orange", "saved tensor"),
    (CURRENT_FILL, "node backward() is running"),
    (DONE_FILL, "node already run in this pass"),
)


def add_title(dot: Any, text: str) -> None:
    """A title over the picture: which step, line and event."""
    import graphviz

    dot.attr(label=graphviz.escape(text), labelloc="t", labeljust="l", fontsize="14", fontname="monospace")


def add_legend(dot: Any, fills: Iterable[str]) -> None:
    """A small box that names each colour the picture uses."""
    used = set(fills)
    entries = [(fill, words) for fill, words in LEGEND if fill in used]
    if not entries:
        return
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="colours", fontsize="10", fontname="monospace", style="rounded", color="grey")
        for position, (fill, words) in enumerate(entries):
            legend.node(f"legend{position}", words, fillcolor=fill, style="filled", shape="box", fontsize="9")
        for position in range(len(entries) - 1):
            legend.edge(f"legend{position}", f"legend{position + 1}", style="invis")


def fills_used(body: Iterable[str]) -> list[str]:
    """The fill colours the drawing's statements set, in first-seen order."""
    seen: list[str] = []
    for statement in statements(body):
        for key, value in statement.attrs:
            if key == "fillcolor" and value not in seen:
                seen.append(value)
    return seen
