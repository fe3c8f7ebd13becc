"""The grad_fn chain from a tensor down to its leaves, with backward's progress on it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.engine.model import Graph, GraphNode, NodeEvent, Step
from tui.formatting import clip, optional_view_text, value_text
from tui.ui.state import default_tensor, reachable

# A 200-layer graph is drawn in full; past this the tree says how many it left out.
MAX_NODES = 600
CURRENT_STYLE = "bold black on #5fd7ff"
DONE_STYLE = "#5faf5f"
EMPTY: tuple[object, ...] = ((), -1)


def _saved_text(node: GraphNode) -> str:
    parts = [f"{key}={clip(text, 16)}" for key, text in node.attrs]
    for key, view in node.saved:
        short = key.removeprefix("_saved_")
        parts.append(f"{short}={'freed' if view is None else value_text(view)}")
    return clip("  ".join(parts), 90) if parts else ""


def node_label(node: GraphNode, event: NodeEvent | None, done: frozenset[int]) -> Text:
    """One node: its name (and leaf), saved values, and during backward the grads it saw."""
    label = Text()
    if event is not None and event.node_id == node.id:
        label.append("▶ ", style=CURRENT_STYLE)
        label.append(node.name, style=CURRENT_STYLE)
    elif node.id in done:
        label.append("✓ ", style=DONE_STYLE)
        label.append(node.name, style=DONE_STYLE)
    else:
        label.append(node.name, style="bold")
    if node.leaf:
        label.append(f" → {node.leaf}", style="bold #ffd75f")
        if node.variable is not None:
            label.append(f" = {value_text(node.variable)}")
    if event is not None and event.node_id == node.id:
        # Tree labels are one line: the grads come first so a narrow pane still shows them.
        label.append("  ")
        if event.leaf:
            before = "None" if event.grad_before is None else optional_view_text(event.grad_before)
            after = "None" if event.grad_after is None else optional_view_text(event.grad_after)
            label.append(f"{event.leaf}.grad: {before} → {after}", style="bold #ffd75f")
        else:
            arrived = ", ".join(optional_view_text(view) for view in event.grad_outputs) or "—"
            sent = ", ".join(optional_view_text(view) for view in event.grad_inputs) or "—"
            label.append(f"grad in: {arrived}  sent on: {sent}", style="bold #ffd75f")
    saved = _saved_text(node)
    if saved:
        label.append(f"  {saved}", style="dim")
    return label


def pick_root(step: Step, selected: str | None) -> tuple[str, int] | None:
    """The tensor whose tree to draw: the selected one, else the loss; during backward, one holding the node."""
    graph = step.graph
    if graph is None or not graph.roots:
        return None
    names = [name for name in (selected, default_tensor(step)) if name and graph.root_of(name) is not None]
    names += [name for name, _node_id in reversed(graph.roots)]
    event = step.node
    for name in names:
        root = graph.root_of(name)
        if root is None:
            continue
        if event is None or event.node_id in reachable(graph, root):
            return name, root
    name = names[0]
    return name, graph.root_of(name)  # type: ignore[return-value]


def _structure(graph: Graph) -> tuple[object, ...]:
    """What decides the tree's shape; values only relabel nodes."""
    return tuple((node.id, node.name, node.next, node.leaf) for node in graph.nodes)


class GraphTree(Tree[int]):
    """Rebuilt only when the graph or its root changes; relabelled on backward sub-steps."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("grad_fn", id=id)
        self.show_root = True
        self.guide_depth = 3
        self._shape: tuple[object, ...] | None = None  # (graph structure, root) drawn now
        self._graph: Graph | None = None
        self._shown_nodes: dict[int, list[TreeNode[int]]] = {}
        self._texts: dict[int, Text] = {}

    def show(self, step: Step | None, selected: str | None) -> None:
        """Draw the grad_fn chain for this step."""
        picked = pick_root(step, selected) if step is not None else None
        if step is None or picked is None or step.graph is None:
            if self._shape != EMPTY:
                self._shape = EMPTY
                self._graph = None
                self.clear()
                self._shown_nodes = {}
                self.root.set_label(Text("no autograd graph yet", style="dim"))
            return
        name, root_id = picked
        graph = step.graph
        event = step.node
        done = frozenset(event.done) if event is not None else frozenset()
        shape = (_structure(graph), root_id)
        if shape != self._shape:
            self._draw(graph, name, root_id, event, done)
            self._shape = shape
            self._graph = graph
        else:
            self._relabel_nodes(graph, name, root_id, event, done)

    def _node_text(self, graph: Graph, node: GraphNode, name: str, root_id: int, event, done) -> Text:
        label = node_label(node, event, done)
        if node.id == root_id:
            label = Text.assemble((f"{name}: ", "bold"), label)
        return label

    def _draw(self, graph: Graph, name: str, root_id: int, event: NodeEvent | None, done: frozenset[int]) -> None:
        self.clear()
        self._shown_nodes = {}
        self._texts = {}
        by_id = {node.id: node for node in graph.nodes}
        root = by_id.get(root_id)
        if root is None:
            self.root.set_label(Text(f"{name}: graph not captured", style="dim"))
            return
        label = self._node_text(graph, root, name, root_id, event, done)
        self.root.set_label(label)
        self.root.data = root_id
        self._shown_nodes[root_id] = [self.root]
        self._texts[root_id] = label
        seen = {root_id}
        count = 1
        stack: list[tuple[TreeNode[int], GraphNode]] = [(self.root, root)]
        while stack:
            parent, node = stack.pop(0)
            for next_id in node.next:
                child = by_id.get(next_id)
                if child is None:
                    continue
                if count >= MAX_NODES:
                    parent.add_leaf(Text(f"… {len(by_id) - count} more nodes", style="dim"))
                    stack.clear()
                    break
                count += 1
                if next_id in seen:
                    parent.add_leaf(Text(f"↺ {child.name} (shown above)", style="dim"), data=next_id)
                    continue
                seen.add(next_id)
                label = self._node_text(graph, child, name, root_id, event, done)
                self._texts[next_id] = label
                tree_node = parent.add(label, data=next_id, expand=True) if child.next else parent.add_leaf(label, data=next_id)
                self._shown_nodes.setdefault(next_id, []).append(tree_node)
                stack.append((tree_node, child))
        self.root.expand()
        self._scroll_to_current(event)

    def _relabel_nodes(self, graph: Graph, name: str, root_id: int, event: NodeEvent | None, done: frozenset[int]) -> None:
        by_id = {node.id: node for node in graph.nodes}
        for node_id, tree_nodes in self._shown_nodes.items():
            node = by_id.get(node_id)
            if node is None:
                continue
            label = self._node_text(graph, node, name, root_id, event, done)
            if label.plain != self._texts[node_id].plain or label.spans != self._texts[node_id].spans:
                self._texts[node_id] = label
                for tree_node in tree_nodes:
                    tree_node.set_label(label)
        self._scroll_to_current(event)

    def _scroll_to_current(self, event: NodeEvent | None) -> None:
        if event is None:
            return
        for tree_node in self._shown_nodes.get(event.node_id, ()):
            line = tree_node.line
            top = int(self.scroll_offset.y)
            if line >= 0 and not top <= line < top + self.scrollable_content_region.height:
                self.call_after_refresh(self.scroll_to_node, tree_node, animate=False)
            break
