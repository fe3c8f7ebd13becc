"""The grad_fn chain from a tensor down to its leaves, with saved values and backward's progress.

Drawn with the line API: each step builds the list of tree lines (cheap plain data),
compares it with the lines on screen and repaints only those that differ; labels are
rendered only for the lines in view. A backward sub-step therefore restyles two or
three lines, and a new graph object with the same shape (the next iteration) repaints
only the lines whose values changed, with no layout pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size

from tui.render.events import done_text, node_words
from tui.render.formatting import clip, format_number, format_values, shape_text
from tui.steps.model import Graph, GraphNode, NodeEvent, Step, TensorView
from tui.steps.queries import reachable
from tui.ui.state import default_tensor
from tui.ui.widgets.styles_cache import CachedRows

# A 600-line tree is drawn in full; past this the tree says how many nodes it left out.
MAX_LINES = 600
# Deeper levels stop moving right (a 200-layer chain stays readable in a narrow pane).
MAX_INDENT = 8
GUIDE_WIDTH = 3
SAVED_TENSOR = "[saved tensor]"
SAVED_TENSORS = "[saved tensors]"


@dataclass(frozen=True)
class TreeStyles:
    """The tree's colours by role; the widget fills them from its component classes (the theme)."""

    current: Style | str = "bold reverse"
    done: Style | str = "green"
    grads: Style | str = "bold"
    leaf: Style | str = "bold"
    saved: Style | str = "dim"


PLAIN = TreeStyles()


def compact_value(view: TensorView | None) -> str:
    """A saved tensor in a few characters: the number, a short list, or shape and mean."""
    if view is None:
        return "freed"
    if view.value is not None:
        if not isinstance(view.value, tuple):
            return format_number(view.value)
        return clip(format_values(view.value, 80), 24)
    if view.summary is not None:
        mean = "?" if view.summary.mean is None else format_number(view.summary.mean)
        return f"{shape_text(view.shape)} μ {mean}"
    return "?"


def saved_text(node: GraphNode) -> str:
    """What the node saved for backward, with the values in place of torchviz's placeholders."""
    saved = {key.removeprefix("_saved_"): view for key, view in node.saved}
    shown: set[str] = set()
    parts = []
    for key, text in node.attrs:
        if text == SAVED_TENSOR and key in saved:
            shown.add(key)
            parts.append(f"{key}={compact_value(saved[key])}")
        elif text == SAVED_TENSORS:
            items = [name for name in saved if name.startswith(f"{key}[")]
            shown.update(items)
            values = ", ".join(compact_value(saved[name]) for name in items) if items else "freed"
            parts.append(f"{key}=[{values}]")
        else:
            parts.append(f"{key}={clip(text, 16)}")
    parts.extend(f"{key}={compact_value(view)}" for key, view in saved.items() if key not in shown)
    return "  ".join(parts)


def node_label(
    node: GraphNode, state: str, root_name: str | None = None, sent: str = "", styles: TreeStyles = PLAIN
) -> Text:
    """One node: its name (▶ when backward is running it, ✓ when done), its leaf, saved values, what it sent."""
    label = Text()
    if root_name:
        label.append(f"{root_name}: ", style="bold")
    if state == "current":
        label.append(f"▶ {node.name}", style=styles.current)
    elif state == "done":
        label.append(f"✓ {node.name}", style=styles.done)
    else:
        label.append(node.name, style="bold")
    if node.leaf:
        label.append(f" → {node.leaf}", style=styles.leaf)
        if node.variable is not None:
            label.append(f" = {compact_value(node.variable)}")
    if sent:
        label.append(f"  {sent}", style=styles.done)
    saved = saved_text(node)
    if saved:
        label.append(f"  {saved}", style=styles.saved)
    return label


def grads_lines(event: NodeEvent, graph: Graph) -> list[str]:
    """The lines under the node backward is running: the grad that arrived, then the chain rule per input."""
    words = node_words(event, graph)
    return [words.arrived, *words.edges]


def pick_root(step: Step, selected: str | None) -> tuple[str, int] | None:
    """The tensor whose tree to draw: the selected one, else the loss; during backward, one holding the node."""
    graph = step.graph
    if graph is None or not graph.roots:
        return None
    event = step.node

    def candidates():
        # Lazily: the default walks the graph, and is needed only when the selection has none.
        yield selected
        yield default_tensor(step)
        yield from (name for name, _node_id in reversed(graph.roots))

    first: tuple[str, int] | None = None
    for name in candidates():
        root = graph.root_of(name) if name else None
        if root is None:
            continue
        if first is None:
            first = (name, root)
        if event is None or event.node_id in reachable(graph, root):
            return name, root
    return first


@dataclass(frozen=True, slots=True)
class TreeLine:
    """One line of the tree: guides, then a node (or a note), in a state."""

    guide: str
    kind: str  # node | repeat | more | grads | note
    node: GraphNode | None = None
    state: str = "plain"  # plain | current | done
    extra: object = None  # the root's tensor name, the text of a grads line, or a note
    sent: str = ""  # a done node: the grad it sent on (or the leaf's .grad it left)


def _guide(prefix: str) -> str:
    limit = MAX_INDENT * GUIDE_WIDTH
    return prefix if len(prefix) <= limit else "⋯" + prefix[len(prefix) - limit + 1 :]


def tree_lines(
    graph: Graph,
    root_id: int,
    name: str,
    event: NodeEvent | None,
    events: Mapping[int, NodeEvent] | None = None,
) -> list[TreeLine]:
    """The grad_fn chain from `root_id` down, depth first; shared nodes are drawn once.

    `events` are the node events of the backward pass so far (tui.render.events.pass_events):
    a finished node shows the grad it sent.
    """
    by_id = {node.id: node for node in graph.nodes}
    root = by_id.get(root_id)
    if root is None:
        return [TreeLine("", "note", extra=f"{name}: graph not captured")]
    done = frozenset(event.done) if event is not None else frozenset()

    def state_of(node_id: int) -> str:
        if event is not None and event.node_id == node_id:
            return "current"
        return "done" if node_id in done else "plain"

    def children(node: GraphNode) -> list[GraphNode]:
        return [by_id[next_id] for next_id in node.next if next_id in by_id]

    def add(node: GraphNode, guide: str, below: str, extra: object = None) -> None:
        state = state_of(node.id)
        finished = events.get(node.id) if events and state == "done" else None
        lines.append(TreeLine(guide, "node", node, state, extra, done_text(finished) if finished is not None else ""))
        if state == "current" and event is not None:
            grads_guide = _guide(below + ("│ " if node.next else "  "))
            lines.extend(TreeLine(grads_guide, "grads", extra=text) for text in grads_lines(event, graph))

    lines: list[TreeLine] = []
    add(root, "", "", name)
    seen = {root.id}
    # Frames of [children, next position, guide prefix]: an explicit stack, as graphs can be deep.
    stack: list[list] = [[children(root), 0, ""]]
    while stack:
        frame = stack[-1]
        kids, position, prefix = frame
        if position >= len(kids):
            stack.pop()
            continue
        frame[1] += 1
        child = kids[position]
        last = position == len(kids) - 1
        guide = _guide(prefix + ("└─ " if last else "├─ "))
        if len(lines) >= MAX_LINES:
            lines.append(TreeLine(guide, "more", extra=f"… {len(by_id) - len(seen)} more nodes"))
            break
        if child.id in seen:
            lines.append(TreeLine(guide, "repeat", child))
            continue
        seen.add(child.id)
        below = prefix + ("   " if last else "│  ")
        add(child, guide, below)
        grandchildren = children(child)
        if grandchildren:
            stack.append([grandchildren, 0, below])
    return lines


def line_text(line: TreeLine, styles: TreeStyles = PLAIN) -> Text:
    """The text of one tree line (guides dimmed)."""
    text = Text(line.guide, style="dim")
    if line.kind == "node" and line.node is not None:
        text.append_text(node_label(line.node, line.state, line.extra if isinstance(line.extra, str) else None, line.sent, styles))
    elif line.kind == "grads":
        text.append(str(line.extra), style=styles.grads)
    elif line.kind == "repeat" and line.node is not None:
        text.append(f"↺ {line.node.name} (shown above)", style="dim")
    else:
        text.append(str(line.extra), style="dim")
    return text


NO_GRAPH = [TreeLine("", "note", extra="no autograd graph yet")]


class GraphTree(CachedRows, can_focus=True):
    """The tree of the selected tensor's grad_fn chain; repaints only lines that changed."""

    COMPONENT_CLASSES = {
        "graph-tree--current",
        "graph-tree--done",
        "graph-tree--grads",
        "graph-tree--leaf",
        "graph-tree--saved",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tree_styles: TreeStyles | None = None
        self.lines: list[TreeLine] = []
        self.root_name: str | None = None
        self._shown: tuple[object, ...] | None = None

    def on_mount(self) -> None:
        self._set_lines(NO_GRAPH)

    def show(self, step: Step | None, selected: str | None, events: Mapping[int, NodeEvent] | None = None) -> None:
        """Draw the grad_fn chain for this step (`events`: the backward pass's node events so far)."""
        graph = step.graph if step is not None else None
        event = step.node if step is not None else None
        if graph is None or step is None:
            self._shown = None
            self.root_name = None
            self._set_lines(NO_GRAPH)
            return
        picked = pick_root(step, selected)
        if picked is None:
            self._shown = None
            self.root_name = None
            self._set_lines(NO_GRAPH)
            return
        key = (graph, event, picked)
        shown = self._shown
        if shown is not None and graph is shown[0] and event is shown[1] and picked == shown[2]:
            return
        self._shown = key
        self.root_name = picked[0]
        grew = self._set_lines(tree_lines(graph, picked[1], picked[0], event, events))
        self._scroll_to_current()
        if grew:  # a tree that just outgrew the pane has no scrollbar until the next layout: scroll then too
            self.call_after_refresh(self._scroll_to_current)

    def _set_lines(self, lines: list[TreeLine]) -> bool:
        """Show these lines, repainting those that changed; True when the tree got longer."""
        old = self.lines
        self.lines = lines
        for index in range(max(len(lines), len(old))):
            if index >= len(lines) or index >= len(old) or lines[index] != old[index]:
                self.forget_rows([index])
                self.refresh_line(index)
        if len(lines) != len(old):
            self._update_virtual_size()
        return len(lines) > len(old)

    def _update_virtual_size(self) -> None:
        view = self.scrollable_content_region.size
        # Never smaller than the view: a tree that fits changes nothing the layout can see.
        size = Size(view.width, max(len(self.lines), view.height))
        if size != self.virtual_size:
            self.virtual_size = size

    def _scroll_to_current(self) -> None:
        current = next((index for index, line in enumerate(self.lines) if line.state == "current"), None)
        if current is None:
            return
        top = int(self.scroll_offset.y)
        height = max(self.scrollable_content_region.height, 1)
        grads = 0
        while current + grads + 1 < len(self.lines) and self.lines[current + grads + 1].kind == "grads":
            grads += 1
        # The node and its grads lines all in view (as many as fit).
        last = current + min(grads, max(height - 1, 0))
        if not (top <= current and last < top + height):
            self.scroll_to(y=max(min(current, max(current - height // 3, last - height + 1)), 0), animate=False, immediate=True)

    def styles_now(self) -> TreeStyles:
        """The theme's colours for each role (kept until the CSS changes)."""
        if self._tree_styles is None:
            style = self.component_style
            self._tree_styles = TreeStyles(
                current=style("graph-tree--current"),
                done=style("graph-tree--done"),
                grads=style("graph-tree--grads"),
                leaf=style("graph-tree--leaf"),
                saved=style("graph-tree--saved"),
            )
        return self._tree_styles

    def notify_style_update(self) -> None:
        self._tree_styles = None  # a theme change: look the colours up again
        super().notify_style_update()

    def row_count(self) -> int:
        return len(self.lines)

    def row_segments(self, row: int, width: int) -> list[Segment]:
        text = line_text(self.lines[row], self.styles_now())
        text.truncate(width, overflow="ellipsis")
        return list(text.render(self.app.console, end=""))
