"""The recording's line encoding, shared by the .gstep file and the engine child's pipe.

A stream of steps is JSON objects, one a line:
  header                                        `Header.to_json()` (its "format" names the format)
  {"t": "graph", "id": G, "base": null, "nodes": [...], "roots": [...]}
                                               a whole graph, before the first step using it
  {"t": "graph", "id": G, "base": G-1, "nodes": [...], "order": [...], "roots": [...]}
                                               a graph as a delta on the previous one: only the
                                               nodes new or changed; `order` lists every node,
                                               a run of the base's order as [start, length]
                                               (format 3: an AccumulateGrad node whose variable is
                                               the very tensor the next step holds under its `leaf`
                                               name writes "variable": {"named": LEAF})
  {"t": "block", "step": N}                    the next step is written whole (every tensor, the
                                               whole graph): a reader may start decoding here
  {"t": "step", "step": {...}, "set": {NAME: tensor}, "drop": [NAME], "graph": G | null}
                                               `set` holds only tensors new or changed since the
                                               previous step, `drop` the names that went away
                                               (format 4: a tensor of `set` may be {"same": NAME},
                                               another name of the step for one view, and a view
                                               of the step's `update` may be
                                               {"named": NAME}, the step's tensor NAME, or
                                               {"was": NAME}, the previous step's)
  {"t": "end", "steps": N}                     the trailer
Format 1 wrote `{"t": "graph", "id": G, "graph": {"nodes", "roots"}}` (whole graphs only) and no
blocks; the decoder still reads it.
`StepEncoder` turns steps into those records (remembering what the previous step held),
`StepDecoder` turns them back into Steps. The file (tui.steps.recording) gzips the lines; the
engine's child writes them to a pipe, with a few records of its own around them
(tui.engine.client documents those). Data only: JSON, never pickle. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tui.steps import validate
from tui.steps.model import Graph, GraphNode, Header, Step, TensorView

FORMAT_NAME = "gradstep-recording"
FORMAT_VERSION = 4  # 2: graph deltas, blocks, the index; 3: a leaf's variable named, not repeated;
# 4: an optimizer update's views and a second name for one tensor named, not repeated (1 to 3 still load)


class LineError(ValueError):
    """A record that does not fit the stream (a missing step, an unknown type, a bad field)."""


def dumps(record: dict[str, Any]) -> str:
    """One record as a line of strict JSON (no newline); NaN and infinities become strings."""
    try:
        return json.dumps(record, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # A NaN or infinity slipped into a statistic or a scalar: keep the line strict JSON.
        return json.dumps(finite(record), separators=(",", ":"), allow_nan=False)


def finite(data: Any) -> Any:
    """Replace non-finite floats by the strings "nan", "inf" and "-inf", as tensor values are stored."""
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


class StepEncoder:
    """Steps to records, storing each tensor only when it differs from the previous step's.

    Holds the previous step's tensors and the last graph, nothing more. A changed graph is
    written as a delta on the last one (`base`): the nodes that are new or changed, and the
    order of all of them, where runs of the base's own order are `[start, length]`.
    `restart()` forgets both, so that the next step is written whole (a block's first step).
    """

    def __init__(self) -> None:
        self._previous: Mapping[str, TensorView] = {}
        self._graph: Graph | None = None
        self._graph_id = -1
        self._graph_written = False
        self.count = 0

    @staticmethod
    def header(header: Header) -> dict[str, Any]:
        return {**header.to_json(), "format_version": FORMAT_VERSION}

    def restart(self) -> None:
        """The next step carries every tensor and its whole graph (nothing before it is needed)."""
        self._previous = {}
        self._graph_written = False

    def encode(self, step: Step) -> list[dict[str, Any]]:
        """The records for one step: a graph record first when its graph is new."""
        records: list[dict[str, Any]] = []
        changed: dict[str, Any] = {}
        tensors, held_before = step.tensors, self._previous
        # Most views are the previous step's very objects: only the others are compared and written.
        moved = [(name, view) for name, view in tensors.items() if held_before.get(name) is not view]
        if moved:
            first_name = {id(view): name for name, view in reversed(list(tensors.items()))}  # the first name of each view
            for name, view in moved:
                previous = held_before.get(name)
                if previous is None or previous != view:
                    first = first_name[id(view)]
                    # Format 4: a second name for one view (`for param in model.parameters()`) names the first.
                    changed[name] = view.to_json() if first == name else {"same": first}
        new_names = sum(1 for name, _ in moved if name not in held_before)
        dropped = [] if len(tensors) - new_names == len(held_before) else [name for name in held_before if name not in tensors]
        graph_id: int | None = None
        graph = step.graph
        if graph is not None:
            if not self._graph_written or (graph is not self._graph and graph != self._graph):
                self._graph_id += 1
                base = self._graph if self._graph_written else None
                delta = graph_delta(base, graph, step.tensors)
                if base is not None:
                    delta["base"] = self._graph_id - 1
                records.append({"t": "graph", "id": self._graph_id, **delta})
                self._graph_written = True
            self._graph = graph
            graph_id = self._graph_id

        def write(view: TensorView, name: str, when: str) -> Any:
            # Format 4: an optimizer update's view that is the step's own tensor (after the update)
            # or the previous step's (before it) is named, not written again.
            if when == "after" and tensors.get(name) is view:
                return {"named": name}
            if when == "before" and held_before.get(name) is view:
                return {"was": name}
            return view.to_json()

        data = step.to_json(write if step.update is not None else None)
        records.append({"t": "step", "step": data, "set": changed, "drop": dropped, "graph": graph_id})
        self._previous = tensors  # a Step's tensors never change
        self.count += 1
        return records

    def end(self) -> dict[str, Any]:
        return {"t": "end", "steps": self.count}


def _node_json(node: GraphNode, tensors: Mapping[str, TensorView]) -> dict[str, Any]:
    """A node's record; a leaf's variable that the step holds under the leaf's name is named, not repeated.

    An optimizer step changes every leaf, so the graph's AccumulateGrad nodes change with them: their
    values were written twice, in the step's `set` and again in the graph record.
    """
    data = node.to_json()
    if node.variable is not None and node.leaf is not None and tensors.get(node.leaf) is node.variable:
        data["variable"] = {"named": node.leaf}
    return data


def graph_delta(base: Graph | None, graph: Graph, tensors: Mapping[str, TensorView]) -> dict[str, Any]:
    """A graph record's fields: the whole graph, or what changed since `base` (`tensors`: its step's)."""
    roots = [[name, node_id] for name, node_id in graph.roots]
    if base is None:
        return {"base": None, "nodes": [_node_json(node, tensors) for node in graph.nodes], "roots": roots}
    old = {node.id: node for node in base.nodes}
    position = {node.id: index for index, node in enumerate(base.nodes)}
    # A node the capture did not rebuild is the very object of the base: no field-by-field comparison.
    nodes = [_node_json(node, tensors) for node in graph.nodes if old.get(node.id) is not node and old.get(node.id) != node]
    order: list[Any] = []
    run_start = run_length = -1
    for node in graph.nodes:
        at = position.get(node.id)
        if at is not None and run_length > 0 and at == run_start + run_length:
            run_length += 1
            continue
        if run_length > 0:
            order.append([run_start, run_length])
            run_length = -1
        if at is None:
            order.append(node.id)
        else:
            run_start, run_length = at, 1
    if run_length > 0:
        order.append([run_start, run_length])
    return {"base": True, "nodes": nodes, "order": order, "roots": roots}


class _ViewCache:
    """Decodes tensor JSON, handing back the same TensorView for identical JSON.

    A long recording repeats the same small tensors (a scalar that comes back to a value,
    the same grad arriving at a node): decoding each once saves time and memory, and
    equal views being one object lets the app tell "unchanged" by identity. Only small
    tensors are looked up (a shape list and plain numbers); big ones are decoded anew.
    """

    def __init__(self) -> None:
        self._views: dict[tuple[Any, ...], TensorView] = {}

    def view(self, data: dict[str, Any], name: str) -> TensorView:
        key = []
        for field, value in data.items():
            if isinstance(value, list):
                if field != "shape":  # values or grads kept in full: not worth a key
                    return self._new(data, name)
                value = tuple(value)
            elif isinstance(value, dict):  # a summary: a big tensor
                return self._new(data, name)
            key.append((field, value))
        try:
            frozen = tuple(key)
            view = self._views.get(frozen)
        except TypeError:  # an unhashable field: checked (and refused) below
            return self._new(data, name)
        if view is None:  # checked once: the same JSON again is the same valid view
            view = self._views[frozen] = self._new(data, name)
        return view

    @staticmethod
    def _new(data: dict[str, Any], name: str) -> TensorView:
        validate.check_tensor(data, f"set[{name[:40]!r}]")
        return TensorView.from_json(data)


# What stands in for a named view while a step's fields are checked (StepDecoder._take_named).
_PLACEHOLDER: dict[str, Any] = TensorView(
    shape=(), dtype="float32", device="cpu", requires_grad=False, is_leaf=True, grad_fn=None, version=0, value=0.0
).to_json()


def _with_named(step: Step, named: Mapping[tuple[str, str | None], TensorView]) -> Step:
    """The step with its update's named views in place of the placeholders."""
    update = step.update
    assert update is not None
    changes: dict[str, Any] = {field: view for (field, key), view in named.items() if key is None}
    for field, pairs in (("state_before", update.state_before), ("state_after", update.state_after)):
        if any((field, key) in named for key, _ in pairs):
            changes[field] = tuple((key, named.get((field, key), view)) for key, view in pairs)
    return dataclasses.replace(step, update=dataclasses.replace(update, **changes))


class StepDecoder:
    """Graph, block and step records back into Steps (the header and trailer are the caller's to check).

    `decode` returns the Step a step record makes, None for a graph or block record, and raises
    LineError (or validate.BadLine) for anything that does not fit. Every field is checked
    before a dataclass is built from it. Only the latest graph is kept: the writer refers to
    no other.
    """

    def __init__(self) -> None:
        self._graph: Graph | None = None
        self._graph_id: int | None = None
        # A graph record whose leaves' variables are named: complete once the next step's tensors are.
        self._pending: tuple[int, tuple[Any, Any, Any, Any], dict[int, str]] | None = None
        self._tensors: dict[str, TensorView] = {}
        self._views = _ViewCache()
        self.count = 0

    def decode(self, record: dict[str, Any]) -> Step | None:
        kind = record.get("t")
        if kind == "graph":
            if self._pending is not None:
                raise LineError("a graph names tensors of a step that never came")
            self._decode_graph(record)
            return None
        if kind == "block":
            first = record.get("step")
            if first != self.count:
                raise LineError(f"a block says it starts at step {first!r}, not {self.count}")
            self._tensors = {}
            return None
        if kind != "step":
            raise LineError(f"unknown record type {str(kind)[:40]!r}")
        validate.check(record.get("drop"), ("list", "str"), "drop")
        dropped = set(record["drop"])
        changed = record.get("set")
        if not isinstance(changed, dict):
            raise LineError("set should be an object of tensors")
        same: dict[str, Any] = {}
        for name, view in changed.items():
            if type(view) is not dict:
                raise LineError(f"set[{name[:40]!r}] should be a tensor object")
            if len(view) == 1 and "same" in view:
                same[name] = view["same"]
        previous = self._tensors
        if dropped or changed:  # else the step shares the previous step's tensors
            tensors = {name: view for name, view in self._tensors.items() if name not in dropped}
            tensors.update({name: self._views.view(view, name) for name, view in changed.items() if name not in same})
            for name, first in same.items():  # format 4: another name's view at this step
                view = tensors.get(first) if type(first) is str and first not in same else None
                if view is None:
                    raise LineError(f"set[{name[:40]!r}] is the same as {str(first)[:40]!r}, which the step does not hold")
                tensors[name] = view
            self._tensors = tensors
        step_data: Any = record.get("step")
        named: dict[tuple[str, str | None], TensorView] | None = None
        if type(step_data) is dict and type(step_data.get("update")) is dict:
            step_data, named = self._take_named(step_data, previous)
        validate.check_step(step_data, "step")
        data: dict[str, Any] = step_data
        if self._pending is not None:
            self._complete_graph()
        graph_id = record.get("graph")
        if graph_id is not None and (isinstance(graph_id, bool) or graph_id != self._graph_id):
            raise LineError(f"the step refers to graph {str(graph_id)[:20]}, which is not the latest graph")
        # A read-only view of a dict nobody changes afterwards: Step keeps it as it is.
        step = Step.from_json(data, MappingProxyType(self._tensors), None if graph_id is None else self._graph)
        if named:
            step = _with_named(step, named)
        if step.index != self.count:
            raise LineError(f"step {self.count} is missing")
        self.count += 1
        return step

    def _take_named(
        self, data: dict[str, Any], previous: Mapping[str, TensorView]
    ) -> tuple[dict[str, Any], dict[tuple[str, str | None], TensorView]]:
        """The step's fields with its update's named views (format 4) taken out, and the views they name.

        A placeholder takes each one's place, so that the fields are checked as usual; the views
        are put in once the update is built (`_with_named`)."""
        update = dict(data["update"])
        named: dict[tuple[str, str | None], TensorView] = {}

        def resolve(value: Any, field: str, key: str | None) -> Any:
            if type(value) is not dict or not value or set(value) - {"named", "was"}:
                return value  # a tensor written out (checked with the rest)
            where = field if key is None else f"{field}[{key[:40]!r}]"
            if len(value) != 1:
                raise LineError(f"update.{where} names a tensor twice")
            ((how, name),) = value.items()
            if type(name) is not str:
                raise LineError(f"update.{where} names something that is not a string")
            view = (self._tensors if how == "named" else previous).get(name)
            if view is None:
                which = "the step" if how == "named" else "the previous step"
                raise LineError(f"update.{where} is {which}'s {name[:40]!r}, which {which} does not hold")
            named[(field, key)] = view
            return _PLACEHOLDER

        for field in ("before", "after"):
            update[field] = resolve(update.get(field), field, None)
        for field in ("state_before", "state_after"):
            state = update.get(field)
            if type(state) is dict:
                update[field] = {key: resolve(view, field, str(key)) for key, view in state.items()}
        return {**data, "update": update}, named

    def _decode_graph(self, record: dict[str, Any]) -> None:
        validate.check(record.get("id"), "int", "id")
        graph_id: int = record["id"]
        fields: tuple[Any, Any, Any, Any]
        if "graph" in record:  # format 1: the whole graph
            data = record["graph"]
            if not isinstance(data, dict):
                raise LineError("graph should be an object")
            fields = (data.get("nodes", []), data.get("roots", []), None, None)
        else:
            fields = (record.get("nodes"), record.get("roots"), record.get("base"), record.get("order"))
        nodes = fields[0]
        named: dict[int, str] = {}
        if type(nodes) is list:  # format 3: leaves' variables named; the next step holds them
            for position, node in enumerate(nodes):
                variable = node.get("variable") if type(node) is dict else None
                if type(variable) is dict and set(variable) == {"named"}:
                    if type(variable["named"]) is not str:
                        raise LineError("a node's variable names something that is not a string")
                    named[position] = variable["named"]
                    nodes[position] = {**node, "variable": None}
        if named:
            self._pending = (graph_id, fields, named)
            return
        self._build_graph(graph_id, fields, {})

    def _complete_graph(self) -> None:
        assert self._pending is not None
        graph_id, fields, named = self._pending
        self._pending = None
        variables = {}
        for position, name in named.items():
            view = self._tensors.get(name)
            if view is None:
                raise LineError(f"a node's variable is the step's {name[:40]!r}, which the step does not hold")
            variables[position] = view
        self._build_graph(graph_id, fields, variables)

    def _build_graph(self, graph_id: int, fields: tuple[Any, Any, Any, Any], variables: dict[int, TensorView]) -> None:
        nodes, roots, base, order = fields
        validate.check_nodes(nodes, "nodes")
        validate.check_roots(roots, "roots")
        new_nodes = [GraphNode.from_json(node) for node in nodes]
        for position, view in variables.items():
            new_nodes[position] = dataclasses.replace(new_nodes[position], variable=view)
        built = {node.id: node for node in new_nodes}
        if base is None:
            graph_nodes = tuple(new_nodes)
        else:
            if base != self._graph_id or self._graph is None or isinstance(base, bool):
                raise LineError(f"graph {graph_id} changes graph {str(base)[:20]}, which is not the latest graph")
            graph_nodes = self._apply(self._graph, built, order)
        self._graph = Graph(nodes=graph_nodes, roots=tuple((name, node_id) for name, node_id in roots))
        self._graph_id = graph_id

    @staticmethod
    def _apply(base: Graph, built: dict[int, GraphNode], order: Any) -> tuple[GraphNode, ...]:
        if not isinstance(order, list):
            raise LineError("a graph delta has no order")
        result: list[GraphNode] = []
        for item in order:
            if isinstance(item, int) and not isinstance(item, bool):
                node = built.get(item)
                if node is None:
                    raise LineError(f"a graph delta places node {item}, which it does not hold")
                result.append(node)
            elif isinstance(item, list) and len(item) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in item):
                start, length = item
                if start < 0 or length < 0 or start + length > len(base.nodes):
                    raise LineError(f"a graph delta's run {item} is outside its base graph")
                for node in base.nodes[start : start + length]:
                    result.append(built.get(node.id, node))
            else:
                raise LineError("a graph delta's order holds something that is neither a node id nor a run")
            if len(result) > validate.MAX_NODES:
                raise LineError(f"a graph of more than {validate.MAX_NODES:,} nodes")
        return tuple(result)
