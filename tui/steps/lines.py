"""The recording's line encoding, shared by the .gstep file and the engine child's pipe.

A stream of steps is JSON objects, one a line:
  header                                        `Header.to_json()` (its "format" names the format)
  {"t": "graph", "id": G, "graph": {...}}      a graph, written once, before the first step using it
  {"t": "step", "step": {...}, "set": {NAME: tensor}, "drop": [NAME], "graph": G | null}
                                               `set` holds only tensors new or changed since the
                                               previous step, `drop` the names that went away
  {"t": "end", "steps": N}                     the trailer
`StepEncoder` turns steps into those records (remembering what the previous step held),
`StepDecoder` turns them back into Steps. The file (tui.steps.recording) gzips the lines; the
engine's child writes them to a pipe, with a few records of its own around them
(tui.engine.client documents those). Data only: JSON, never pickle. Standard library only.
"""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Any

from tui.steps.model import Graph, Header, Step, TensorView

FORMAT_NAME = "gradstep-recording"
FORMAT_VERSION = 1


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

    Holds the previous step's tensors and the last graph, nothing more.
    """

    def __init__(self) -> None:
        self._previous: dict[str, TensorView] = {}
        self._graph: Graph | None = None
        self._graph_id = -1
        self.count = 0

    @staticmethod
    def header(header: Header) -> dict[str, Any]:
        return {**header.to_json()}

    def encode(self, step: Step) -> list[dict[str, Any]]:
        """The records for one step: a graph record first when its graph is new."""
        records: list[dict[str, Any]] = []
        changed = {}
        for name, view in step.tensors.items():
            previous = self._previous.get(name)
            if previous is not view and previous != view:
                changed[name] = view.to_json()
        dropped = [name for name in self._previous if name not in step.tensors]
        graph_id: int | None = None
        graph = step.graph
        if graph is not None:
            if graph is not self._graph and graph != self._graph:
                self._graph_id += 1
                records.append({"t": "graph", "id": self._graph_id, "graph": graph.to_json()})
            self._graph = graph
            graph_id = self._graph_id
        records.append({"t": "step", "step": step.to_json(), "set": changed, "drop": dropped, "graph": graph_id})
        self._previous = dict(step.tensors)
        self.count += 1
        return records

    def end(self) -> dict[str, Any]:
        return {"t": "end", "steps": self.count}


class _ViewCache:
    """Decodes tensor JSON, handing back the same TensorView for identical JSON.

    A long recording repeats the same small tensors (a scalar that comes back to a value,
    the same grad arriving at a node): decoding each once saves time and memory, and
    equal views being one object lets the app tell "unchanged" by identity. Only small
    tensors are looked up (a shape list and plain numbers); big ones are decoded anew.
    """

    def __init__(self) -> None:
        self._views: dict[tuple[Any, ...], TensorView] = {}

    def view(self, data: dict[str, Any]) -> TensorView:
        key = []
        for name, value in data.items():
            if isinstance(value, list):
                if name != "shape":  # values or grads kept in full: not worth a key
                    return TensorView.from_json(data)
                value = tuple(value)
            elif isinstance(value, dict):  # a summary: a big tensor
                return TensorView.from_json(data)
            key.append((name, value))
        frozen = tuple(key)
        view = self._views.get(frozen)
        if view is None:
            view = self._views[frozen] = TensorView.from_json(data)
        return view


class StepDecoder:
    """Graph and step records back into Steps (the header and trailer are the caller's to check).

    `decode` returns the Step a step record makes, None for a graph record, and raises
    LineError (or KeyError/TypeError/ValueError for a malformed field) for anything else.
    """

    def __init__(self) -> None:
        self._graphs: dict[int, Graph] = {}
        self._tensors: dict[str, TensorView] = {}
        self._views = _ViewCache()
        self.count = 0

    def decode(self, record: dict[str, Any]) -> Step | None:
        kind = record.get("t")
        if kind == "graph":
            self._graphs[int(record["id"])] = Graph.from_json(record["graph"])
            return None
        if kind != "step":
            raise LineError(f"unknown record type {kind!r}")
        dropped = record["drop"]
        changed = record["set"]
        if dropped or changed:  # else the step shares the previous step's tensors
            tensors = {name: view for name, view in self._tensors.items() if name not in dropped}
            tensors.update({name: self._views.view(view) for name, view in changed.items()})
            self._tensors = tensors
        graph_id = record["graph"]
        # A read-only view of a dict nobody changes afterwards: Step keeps it as it is.
        step = Step.from_json(
            record["step"], MappingProxyType(self._tensors), None if graph_id is None else self._graphs[graph_id]
        )
        if step.index != self.count:
            raise LineError(f"step {self.count} is missing")
        self.count += 1
        return step
