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
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.errors import BadInput, RecordingError
from tui.steps.lines import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LineError,
    StepDecoder,
    StepEncoder,
    dumps,
    finite,
)
from tui.steps.model import Header, Step


@dataclass(frozen=True, slots=True)
class Recording:
    """A loaded recording: its header and every step, in order."""

    header: Header
    steps: tuple[Step, ...]


class RecordingWriter:
    """Streams steps to a .gstep file, storing only what changed since the previous step.

    Memory stays bounded: the writer holds the previous step's tensors and the last
    graph, nothing more (tui.steps.lines.StepEncoder, which the engine's pipe uses too).
    Use it as a context manager so the trailer is written even when the script raised.
    """

    def __init__(self, path: str | Path, header: Header) -> None:
        self.path = Path(path)
        try:
            self._file: gzip.GzipFile | None = gzip.open(self.path, "wb", compresslevel=6)
        except OSError as error:
            raise BadInput(f"cannot write {self.path}: {error.strerror or error}") from None
        self._pid = os.getpid()  # a forked child (a DataLoader worker) must not write into our file
        self._encoder = StepEncoder()
        self._write(StepEncoder.header(header))

    @property
    def count(self) -> int:
        return self._encoder.count

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None, "write after close"
        self._file.write(dumps(record).encode())
        self._file.write(b"\n")

    def append(self, step: Step) -> None:
        """Write one step, storing each tensor only when it differs from the previous step."""
        if os.getpid() != self._pid:
            return
        for record in self._encoder.encode(step):
            self._write(record)

    def close(self) -> None:
        """Write the trailer and close the file (safe to call twice)."""
        if self._file is None or os.getpid() != self._pid:
            return
        try:
            self._write(self._encoder.end())
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_finite = finite  # the name earlier code and tests use


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
    decoder = StepDecoder()
    steps: list[Step] = []
    ended = False
    for number, record in _lines(path):
        try:
            if header is None:
                header = _check_header(path, record)
                continue
            if ended:
                raise RecordingError(f"{path} is corrupt: data after the end of the recording")
            if record.get("t") == "end":
                if record.get("steps") != len(steps):
                    raise RecordingError(f"{path} is corrupt: it promises {record.get('steps')} steps")
                ended = True
                continue
            step = decoder.decode(record)
            if step is not None:
                steps.append(step)
        except RecordingError:
            raise
        except LineError as error:
            if "unknown record type" in str(error):
                raise RecordingError(f"{path} is corrupt: line {number} has an unknown record type") from None
            raise RecordingError(f"{path} is corrupt: {error}") from None
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
