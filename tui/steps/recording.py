"""The .gstep file: a header and steps as gzip-compressed JSON lines. Data only.

Line 1 is the header. Then, in order:
  {"t": "graph", "id": G, "graph": {...}}      a graph, written once, before the first step using it
  {"t": "step", "step": {...}, "set": {NAME: tensor}, "drop": [NAME], "graph": G | null}
                                               a step; `set` holds only tensors that are new or changed
                                               since the previous step, `drop` the names that went away
  {"t": "end", "steps": N}                     the trailer: its absence means the file is truncated
`assets/recording.schema.json` describes each line. Loading never executes anything: it parses
JSON and builds the plain dataclasses of tui.steps.model. This module never imports torch.
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Iterable, Iterator

from tui.errors import BadInput, RecordingError
from tui.steps.model import Graph, Header, Step, TensorView

FORMAT_NAME = "gradstep-recording"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Recording:
    """A loaded recording: its header and every step, in order."""

    header: Header
    steps: tuple[Step, ...]


class RecordingWriter:
    """Streams steps to a .gstep file, storing only what changed since the previous step.

    Memory stays bounded: the writer holds the previous step's tensors and the last
    graph, nothing more. Use it as a context manager so the trailer is written even
    when the script raised.
    """

    def __init__(self, path: str | Path, header: Header) -> None:
        self.path = Path(path)
        try:
            self._file: IO[bytes] | None = gzip.open(self.path, "wb", compresslevel=6)
        except OSError as error:
            raise BadInput(f"cannot write {self.path}: {error.strerror or error}") from None
        self._pid = os.getpid()  # a forked child (a DataLoader worker) must not write into our file
        self._previous: dict[str, TensorView] = {}
        self._graph: Graph | None = None
        self._graph_id = -1
        self.count = 0
        self._write({**header.to_json()})

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None, "write after close"
        try:
            line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        except ValueError:
            # A NaN or infinity slipped into a statistic or a scalar: keep the file strict JSON.
            line = json.dumps(_finite(record), separators=(",", ":"), allow_nan=False)
        self._file.write(line.encode())
        self._file.write(b"\n")

    def _graph_ref(self, graph: Graph | None) -> int | None:
        if graph is None:
            return None
        if graph is not self._graph and graph != self._graph:
            self._graph_id += 1
            self._write({"t": "graph", "id": self._graph_id, "graph": graph.to_json()})
        self._graph = graph
        return self._graph_id

    def append(self, step: Step) -> None:
        """Write one step, storing each tensor only when it differs from the previous step."""
        if os.getpid() != self._pid:
            return
        changed = {}
        for name, view in step.tensors.items():
            previous = self._previous.get(name)
            if previous is not view and previous != view:
                changed[name] = view.to_json()
        dropped = [name for name in self._previous if name not in step.tensors]
        graph_id = self._graph_ref(step.graph)
        self._write({"t": "step", "step": step.to_json(), "set": changed, "drop": dropped, "graph": graph_id})
        self._previous = dict(step.tensors)
        self.count += 1

    def close(self) -> None:
        """Write the trailer and close the file (safe to call twice)."""
        if self._file is None or os.getpid() != self._pid:
            return
        try:
            self._write({"t": "end", "steps": self.count})
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _finite(data: Any) -> Any:
    """Replace non-finite floats by the strings "nan", "inf" and "-inf", as tensor values are stored."""
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def write_recording(path: str | Path, header: Header, steps: Iterable[Step]) -> None:
    """Write a whole recording at once (the app's ctrl+s)."""
    with RecordingWriter(path, header) as writer:
        for step in steps:
            writer.append(step)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with gzip.open(path, "rb") as file:
            for number, raw in enumerate(file, start=1):
                try:
                    record = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    if number == 1:
                        raise RecordingError(f"{path} is not a gradstep recording") from None
                    raise RecordingError(f"{path} is corrupt: line {number} is not valid JSON") from None
                if not isinstance(record, dict):
                    raise RecordingError(f"{path} is corrupt: line {number} is not a JSON object")
                yield number, record
    except gzip.BadGzipFile:
        raise RecordingError(f"{path} is not a gradstep recording (not gzip-compressed JSON lines)") from None
    except (EOFError, zlib.error):
        raise RecordingError(f"{path} is truncated or corrupt (the compressed data ends early)") from None


def _check_header(path: Path, record: dict[str, Any]) -> Header:
    if record.get("format") != FORMAT_NAME:
        raise RecordingError(f"{path} is not a gradstep recording")
    version = record.get("format_version")
    if not isinstance(version, int):
        raise RecordingError(f"{path} is corrupt: its header has no format version")
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"{path} was written by a newer gradstep (format {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade gradstep to open it"
        )
    return Header.from_json(record)


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


def load_recording(path: str | Path) -> Recording:
    """Read and validate a .gstep file; raise RecordingError with a one-line reason if it is not sound."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"no such recording: {path}")
    # Loading builds hundreds of thousands of small acyclic objects; the cyclic collector
    # would walk them again and again and find nothing (7-30% of the load, more in a big process).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(path)
    finally:
        if collecting:
            gc.enable()


def _load(path: Path) -> Recording:
    header: Header | None = None
    graphs: dict[int, Graph] = {}
    tensors: dict[str, TensorView] = {}
    steps: list[Step] = []
    views = _ViewCache()
    ended = False
    for number, record in _lines(path):
        try:
            if header is None:
                header = _check_header(path, record)
                continue
            if ended:
                raise RecordingError(f"{path} is corrupt: data after the end of the recording")
            kind = record.get("t")
            if kind == "graph":
                graphs[int(record["id"])] = Graph.from_json(record["graph"])
            elif kind == "step":
                dropped = record["drop"]
                changed = record["set"]
                if dropped or changed:  # else the step shares the previous step's tensors
                    tensors = {name: view for name, view in tensors.items() if name not in dropped}
                    tensors.update({name: views.view(view) for name, view in changed.items()})
                graph_id = record["graph"]
                # A read-only view of a dict nobody changes afterwards: Step keeps it as it is.
                step = Step.from_json(record["step"], MappingProxyType(tensors), None if graph_id is None else graphs[graph_id])
                if step.index != len(steps):
                    raise RecordingError(f"{path} is corrupt: step {len(steps)} is missing")
                steps.append(step)
            elif kind == "end":
                if record.get("steps") != len(steps):
                    raise RecordingError(f"{path} is corrupt: it promises {record.get('steps')} steps")
                ended = True
            else:
                raise RecordingError(f"{path} is corrupt: line {number} has an unknown record type")
        except RecordingError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RecordingError(f"{path} is corrupt at line {number}: {error}") from None
    if header is None:
        raise RecordingError(f"{path} is empty: not a gradstep recording")
    if not ended:
        raise RecordingError(f"{path} is truncated: it ends after {len(steps)} steps without its trailer")
    return Recording(header=header, steps=tuple(steps))


def header_line(path: str | Path) -> dict[str, Any]:
    """The raw header of a recording, for tests and tools that only need it."""
    for _, record in _lines(Path(path)):
        return record
    raise RecordingError(f"{path} is empty: not a gradstep recording")
