"""Capture the autograd graph behind the named tensors into a plain `Graph`.

Node ids are stable within a session: a node seen at the previous capture keeps its
id (the previous capture's node objects are held, so their Python ids cannot be
reused), a new node gets the next integer. Saved attributes are formatted as
torchviz 0.0.3's `get_fn_name` (show_attrs) formats them, with the `_saved_` prefix
stripped; saved tensors are named as its `show_saved` names them (`self`,
`other`, `indices[0]`, ...). A capture that finds nothing changed returns the very
same Graph object, so recordings store it once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch  # this module walks live autograd nodes of the running script

from tui.steps.model import SAVED_PREFIX, Graph, GraphNode, TensorView

# A graph that grows with every iteration (`total = total + loss`) would make each step
# slower than the last; past this many nodes the capture keeps the nodes nearest the roots.
MAX_NODES = 2000

ViewOf = Callable[[torch.Tensor], TensorView]


@dataclass
class _NodeRecord:
    node: Any
    node_id: int
    attr_names: tuple[str, ...]
    attr_names_all: frozenset[str] = frozenset()
    tensor_attrs: dict[str, str] = field(default_factory=dict)  # attr -> "[saved tensor]" / "[saved tensors]"
    generation: int = -1
    built: GraphNode | None = None
    tensors: list[Any] = field(default_factory=list)  # the tensors its refs number


def walk(root_nodes: Iterable[Any], limit: int | None = None) -> list[Any]:
    """Every node reachable from the roots, each once, in breadth-first order (up to `limit`)."""
    seen: set[int] = set()
    order: list[Any] = []
    queue = deque(node for node in root_nodes if node is not None)
    while queue and (limit is None or len(order) < limit):
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        for next_node, _ in getattr(node, "next_functions", ()):
            if next_node is not None and id(next_node) not in seen:
                queue.append(next_node)
    return order


def attr_text(value: Any) -> str:
    """An attribute as torchviz's show_attrs prints it."""
    if torch.is_tensor(value):
        return "[saved tensor]"
    if isinstance(value, tuple) and any(torch.is_tensor(item) for item in value):
        return "[saved tensors]"
    return str(value)


class GraphCapture:
    """Turns the live graph into Graph snapshots with session-stable node ids."""

    def __init__(self) -> None:
        self._records: dict[int, _NodeRecord] = {}
        self._next_id = 0
        self.generation = 0
        self._last: Graph | None = None
        # id(tensor) -> (tensor, ref) for the tensors of the latest capture, so that a
        # tensor keeps its ref number from capture to capture.
        self._tensor_refs: dict[int, tuple[Any, int]] = {}
        self._new_refs: dict[int, tuple[Any, int]] = {}
        self._next_ref = 0
        # The last walk: its root nodes, its order, its records and where in the order the
        # AccumulateGrad nodes are. One tuple, set in one assignment: a capture cut short (record's
        # ^C handler raises wherever the script's thread is) leaves no walk beside another's records.
        self._walked: tuple[tuple[Any, ...], list[Any], dict[int, _NodeRecord], list[int]] | None = None
        self._last_order: list[Any] | None = None  # the order and generation self._last was built from
        self._last_generation = -1

    def saved_freed(self) -> None:
        """A backward ran: saved tensors may have been freed, so rebuild nodes next time."""
        self.generation += 1

    def clear(self) -> None:
        self._records = {}
        self._last = None
        self._last_order = None
        self._tensor_refs = {}
        self._walked = None

    def _ref(self, tensor: torch.Tensor, record: _NodeRecord) -> int:
        """A small integer naming one tensor object, the same from capture to capture."""
        entry = self._new_refs.get(id(tensor))
        if entry is None or entry[0] is not tensor:
            entry = self._tensor_refs.get(id(tensor))
            if entry is None or entry[0] is not tensor:
                self._next_ref += 1
                entry = (tensor, self._next_ref)
            self._new_refs[id(tensor)] = entry
        record.tensors.append(tensor)
        return entry[1]

    def id_of(self, node: Any) -> int | None:
        """The stable id of a node seen at the latest capture."""
        record = self._records.get(id(node))
        return record.node_id if record is not None and record.node is node else None

    def capture(
        self,
        roots: Iterable[tuple[str | None, torch.Tensor]],
        leaf_names: Mapping[int, str],
        view_of: ViewOf,
    ) -> Graph | None:
        """The graph reachable from the roots' grad_fn (None when no root has one)."""
        root_nodes: list[tuple[str | None, Any]] = []
        for name, tensor in roots:
            grad_fn = getattr(tensor, "grad_fn", None)
            if grad_fn is not None:
                root_nodes.append((name, grad_fn))
        if not root_nodes:
            self.clear()
            return None
        # A node's next_functions never change, so the same root nodes reach the same nodes: the
        # walk is done again only when a root is another node (an optimizer's sub-steps, the
        # lines of a parameter update, reuse it).
        walked = self._walked
        last = self._last
        if walked is not None and len(walked[0]) == len(root_nodes) and all(
            old is new for old, (_, new) in zip(walked[0], root_nodes)
        ):
            _, order, records, leaf_positions = walked
        else:
            order = walk((grad_fn for _, grad_fn in root_nodes), MAX_NODES)
            records = {id(node): self._record(node) for node in order}
            leaf_positions = [
                position for position, node in enumerate(order) if "variable" in records[id(node)].attr_names_all
            ]
            self._walked = (tuple(grad_fn for _, grad_fn in root_nodes), order, records, leaf_positions)
        if last is not None and self._last_order is order and self._last_generation == self.generation:
            # The same nodes as the last capture, and no backward since: only a leaf's AccumulateGrad
            # node can differ (its variable updated in place, or another name), so only those are built.
            self._new_refs = dict(self._tensor_refs)
            nodes = list(last.nodes)
            for position in leaf_positions:
                nodes[position] = self._build(records[id(order[position])], records, leaf_names, view_of)
        else:
            self._new_refs = {}
            nodes = [self._build(records[id(node)], records, leaf_names, view_of) for node in order]
        self._records = records
        self._tensor_refs, self._new_refs = self._new_refs, {}
        graph_roots = tuple(
            (name, records[id(node)].node_id) for name, node in root_nodes if name is not None and id(node) in records
        )
        self._last_order, self._last_generation = order, self.generation
        if (
            last is not None
            and last.roots == graph_roots
            and len(last.nodes) == len(nodes)
            and all(old is new for old, new in zip(last.nodes, nodes))
        ):
            return last
        self._last = Graph(nodes=tuple(nodes), roots=graph_roots)
        return self._last

    def _record(self, node: Any) -> _NodeRecord:
        record = self._records.get(id(node))
        if record is not None and record.node is node:
            return record
        self._next_id += 1
        try:
            every = frozenset(dir(node))
        except Exception:
            every = frozenset()
        names = tuple(sorted(name for name in every if name.startswith(SAVED_PREFIX)))
        return _NodeRecord(node=node, node_id=self._next_id, attr_names=names, attr_names_all=every)

    def _build(
        self,
        record: _NodeRecord,
        records: Mapping[int, _NodeRecord],
        leaf_names: Mapping[int, str],
        view_of: ViewOf,
    ) -> GraphNode:
        node = record.node
        # Only AccumulateGrad has one: the names read once per node spare a failing getattr per node.
        variable = getattr(node, "variable", None) if "variable" in record.attr_names_all else None
        if not isinstance(variable, torch.Tensor):
            variable = None
        variable_view = view_of(variable) if isinstance(variable, torch.Tensor) else None
        built = record.built
        if (
            built is not None
            and record.generation == self.generation
            and built.variable is variable_view
            and built.leaf == (leaf_names.get(id(variable)) if variable is not None else None)
        ):
            for tensor in record.tensors:  # carry its tensors' ref numbers over
                self._new_refs.setdefault(id(tensor), self._tensor_refs.get(id(tensor), (tensor, 0)))
            return built
        record.tensors = []
        attrs: list[tuple[str, str]] = []
        saved: list[tuple[str, TensorView | None]] = []
        saved_refs: list[int | None] = []
        for attr in record.attr_names:
            short = attr[len(SAVED_PREFIX):]
            try:
                value = getattr(node, attr)
            except Exception:  # freed by backward: keep torchviz's label, show no values
                if short in record.tensor_attrs:
                    attrs.append((short, record.tensor_attrs[short]))
                    saved.append((short, None))
                    saved_refs.append(None)
                continue
            text = attr_text(value)
            attrs.append((short, text))
            if torch.is_tensor(value):
                record.tensor_attrs[short] = text
                saved.append((short, view_of(value)))
                saved_refs.append(self._ref(value, record))
            elif isinstance(value, tuple) and any(torch.is_tensor(item) for item in value):
                record.tensor_attrs[short] = text
                for index, item in enumerate(value):
                    if torch.is_tensor(item):
                        saved.append((f"{short}[{index}]", view_of(item)))
                        saved_refs.append(self._ref(item, record))
        try:  # a custom autograd.Function's ctx.save_for_backward (raises once freed)
            custom_saved = node.saved_tensors if "saved_tensors" in record.attr_names_all else ()
        except Exception:
            custom_saved = ()
        if custom_saved:
            try:
                for index, item in enumerate(custom_saved):
                    if torch.is_tensor(item):
                        saved.append((f"saved_tensors[{index}]", view_of(item)))
                        saved_refs.append(self._ref(item, record))
            except Exception:
                pass
        next_ids = tuple(
            records[id(next_node)].node_id
            for next_node, _ in getattr(node, "next_functions", ())
            if next_node is not None and id(next_node) in records
        )
        built = GraphNode(
            id=record.node_id,
            name=type(node).__name__,
            attrs=tuple(attrs),
            saved=tuple(saved),
            leaf=leaf_names.get(id(variable)) if variable is not None else None,
            variable=variable_view,
            next=next_ids,
            saved_refs=tuple(saved_refs),
            variable_ref=self._ref(variable, record) if isinstance(variable, torch.Tensor) else None,
        )
        record.built = built
        record.generation = self.generation
        return built
