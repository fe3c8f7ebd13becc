"""Draw a recorded step's autograd graph exactly as torchviz.make_dot draws it, with the graphviz package.

A recording holds the graph's structure and values, so a picture of any step
(earlier steps reached by time travel, replays, recordings) is drawn here,
statement for statement in make_dot's order and styles. Live sessions draw with
torchviz itself (tui.engine.live_export); both then go through the same value and
highlight passes (tui.render.dotgraph), so the two pictures of one step are the
same. No torch here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import graphviz

from tui.errors import BadInput
from tui.render.dotgraph import add_highlight, add_values, label_text
from tui.steps.model import SAVED_PREFIX, Graph, GraphNode, Step, TensorView

# torchviz/dot.py make_dot: its node and graph attributes, colours and attribute-table width.
NODE_ATTR = {
    "style": "filled",
    "shape": "box",
    "align": "left",
    "fontsize": "10",
    "ranksep": "0.1",
    "height": "0.2",
    "fontname": "monospace",
}
ROOT_FILL, LEAF_FILL, SAVED_FILL = "darkolivegreen1", "lightblue", "orange"
MAX_ATTR_CHARS = 50
# Custom autograd.Function nodes keep ctx.saved_tensors under this key (`saved_tensors[i]`).
CUSTOM_SAVED = "saved_tensors"


@dataclass
class Drawing:
    """A built picture of one tensor's graph at one step."""

    dot: graphviz.Digraph
    step: int
    tensor: str
    notes: list[str] = field(default_factory=list)
    fn_names: dict[int, str] = field(default_factory=dict)  # autograd node id -> its DOT node name


def names_text(step: Step, shown: int = 8) -> str:
    """The step's tensor names for an error message, the first few of many."""
    names = list(step.tensors)
    if not names:
        return "none"
    more = f", … {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _size_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("%d" % size for size in shape) + ")"


def _var_label(name: str, view: TensorView | None) -> str:
    return "%s\n %s" % (name, _size_text(view.shape) if view is not None else "(freed)")


def _attr_table(name: str, attrs: dict[str, str]) -> str:
    """torchviz's get_fn_name: the class name over a two-column table of saved attributes."""
    if not attrs:
        return name
    col1 = max(len(key) for key in attrs)
    col2 = min(max(len(text) for text in attrs.values()), MAX_ATTR_CHARS)
    rule = "-" * max(col1 + col2 + 2, len(name))
    row = "%-" + str(col1) + "s: %" + str(col2) + "s"

    def cut(text: str) -> str:  # as torchviz
        return text[: col2 - 3] + "..." if len(text) > col2 else text

    return name + "\n" + rule + "\n" + "\n".join(row % (key, cut(text)) for key, text in attrs.items())


def _attr_name(key: str) -> str:
    """A saved attribute's name as torchviz shows it: without the `_saved_` prefix of the grad_fn attribute."""
    return key.removeprefix(SAVED_PREFIX)


def _base_key(key: str) -> str:
    return _attr_name(key).partition("[")[0]


def _saved_order(key: str) -> tuple[str, int]:
    base, _, rest = _attr_name(key).partition("[")
    return base, int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else -1


def _fn_label(node: GraphNode, show_attrs: bool) -> str:
    if not show_attrs:
        return node.name
    attrs = {_attr_name(key): text for key, text in node.attrs}
    for key, _ in node.saved:
        base = _base_key(key)
        if base != CUSTOM_SAVED and base not in attrs:
            attrs[base] = "[saved tensors]" if "[" in key else "[saved tensor]"
    # make_dot walks dir(fn), which is sorted by name.
    return _attr_table(node.name, dict(sorted(attrs.items())))


class _Replica:
    """make_dot's traversal over a recorded Graph, emitting the same statements in the same order."""

    def __init__(self, step: Step, graph: Graph, show_attrs: bool, show_saved: bool) -> None:
        self.step = step
        self.nodes = {node.id: node for node in graph.nodes}
        self.show_attrs = show_attrs
        self.show_saved = show_saved
        self.dot = graphviz.Digraph(node_attr=NODE_ATTR, graph_attr={"size": "12,12"})
        self.seen: set[int] = set()
        self.views: dict[str, TensorView] = {}
        self.fn_names: dict[int, str] = {}
        self.freed = False
        # make_dot names a tensor after `params`; a saved tensor that is a named leaf gets the leaf's name.
        self.ref_names = {node.variable_ref: node.leaf for node in graph.nodes if node.leaf is not None}

    def tensor_node(self, name: str, label: str, fill: str, view: TensorView | None) -> None:
        self.dot.node(name, label_text(label), fillcolor=fill)
        if view is not None:
            self.views[name] = view
        else:
            self.views.pop(name, None)

    def fn(self, node_id: int) -> str:
        return self.fn_names.setdefault(node_id, f"fn{node_id}")

    def saved_name(self, node: GraphNode, position: int) -> str:
        """One name per tensor object when the capture recorded identities, so shared tensors merge as in make_dot."""
        ref = node.saved_refs[position] if position < len(node.saved_refs) else None
        return f"saved{node.id}_{position}" if ref is None else f"t{ref}"

    def leaf_view(self, node: GraphNode) -> TensorView | None:
        if node.leaf is not None and node.leaf in self.step.tensors:
            return self.step.tensors[node.leaf]
        return node.variable

    def visit(self, node_id: int) -> Iterator[int]:
        """One add_nodes call; yields the next functions to recurse into, in order."""
        node = self.nodes.get(node_id)
        if node is None or node_id in self.seen:
            return
        self.seen.add(node_id)
        me = self.fn(node_id)
        saved = list(enumerate(node.saved))
        custom = [(position, item) for position, item in saved if _base_key(item[0]) == CUSTOM_SAVED]
        if self.show_saved:
            attributes = [(position, item) for position, item in saved if _base_key(item[0]) != CUSTOM_SAVED]
            for position, (key, view) in sorted(attributes, key=lambda entry: _saved_order(entry[1][0])):
                if view is None:
                    self.freed = True
                    continue
                name = self.saved_name(node, position)
                self.dot.edge(me, name, dir="none")
                self.tensor_node(name, _var_label(_attr_name(key), view), SAVED_FILL, view)
        if node.name == "AccumulateGrad" or node.variable is not None or node.leaf is not None:
            name = f"leaf{node_id}" if node.variable_ref is None else f"t{node.variable_ref}"
            view = self.leaf_view(node)
            self.tensor_node(name, _var_label(node.leaf or "", view), LEAF_FILL, view)
            self.dot.edge(name, me)
        self.dot.node(me, label_text(_fn_label(node, self.show_attrs)))
        for next_id in node.next:
            self.dot.edge(self.fn(next_id), me)
            yield next_id
        for position, (_, view) in custom:
            if view is None:
                self.freed = True
                continue
            name = self.saved_name(node, position)
            ref = node.saved_refs[position] if position < len(node.saved_refs) else None
            label = _var_label(self.ref_names.get(ref, "") if ref is not None else "", view)
            self.dot.edge(name, me, dir="none")
            self.tensor_node(name, label, SAVED_FILL, view)

    def add_nodes(self, root_id: int) -> None:
        # An explicit stack of generators: make_dot's recursion, without Python's recursion limit.
        stack = [self.visit(root_id)]
        while stack:
            next_id = next(stack[-1], None)
            if next_id is None:
                stack.pop()
            else:
                stack.append(self.visit(next_id))

    def draw(self, tensor: str, root_id: int | None) -> graphviz.Digraph:
        view = self.step.tensors[tensor]
        self.tensor_node("root", _var_label(tensor, view), ROOT_FILL, view)
        if root_id is not None:
            self.add_nodes(root_id)
            self.dot.edge(self.fn(root_id), "root")
        # torchviz's resize_graph
        size = max(12, len(self.dot.body) * 0.15)
        self.dot.graph_attr.update(size=str(size) + "," + str(size))
        return self.dot


def draw_graph(
    step: Step,
    tensor: str,
    *,
    graph: Graph | None = None,
    values: bool = True,
    show_attrs: bool = False,
    show_saved: bool = False,
    highlight: bool = True,
) -> Drawing:
    """Draw `tensor`'s graph at `step` (using `graph` when the step's own lacks it)."""
    if tensor not in step.tensors:
        raise BadInput(f"no tensor {tensor!r} at step {step.index} (named tensors there: {names_text(step)})")
    graph = graph or step.graph or Graph()
    root_id = graph.root_of(tensor)
    if step.tensors[tensor].grad_fn is not None and root_id is None:
        raise BadInput(
            f"the graph of {tensor!r} is not recorded at step {step.index} "
            "(backward() may have freed it): export a step before backward()"
        )
    replica = _Replica(step, graph, show_attrs, show_saved)
    drawing = Drawing(replica.draw(tensor, root_id), step.index, tensor)
    drawing.fn_names = dict(replica.fn_names)
    if replica.freed:
        drawing.notes.append(
            f"step {step.index}: backward() had freed some saved tensors, so they are left out; "
            "an earlier step shows them"
        )
    if values:
        add_values(drawing.dot, replica.views)
    if highlight and step.node is not None and step.node.node_id in replica.fn_names:
        add_highlight(drawing.dot, step.node, replica.fn_names, values=values, graph=step.graph)
    return drawing


