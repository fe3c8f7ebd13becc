"""The .gstep file: a header and steps as gzip-compressed JSON lines. Data only.

Layout (format 2; tui.steps.lines describes each line):
  gzip member 1    the header, then blocks of steps, then {"t": "end", "steps": N}. Each block
                   starts with {"t": "block", "step": K} at a zlib full-flush point, and its first
                   step is written whole, so a reader can inflate from the block's byte offset
                   alone. A sync flush follows any step written 0.25 s or more after the last
                   flush, so a file cut by kill -9 or a full disk holds every step up to it.
  gzip member 2    the index: {"t": "index", "steps": N, "blocks": [[K, OFFSET], ...],
                   "output": [TEXT, ...]} (OFFSET: the block's byte offset in the file; TEXT: what
                   the script wrote during that block, so stdout up to a step needs no earlier block)
  gzip member 3    the footer, a stored (uncompressed) member of fixed size at the very end:
                   {"t": "footer", "index": OFFSET}, the byte offset of member 2.
A plain `gzip -dc` shows all three as JSON lines. `show --step N` / `--last` read the footer, the
index and one block; a file without them (cut short, or format 1) is read from the start, one
step at a time. Loading streams and bounds what it accepts (README, "Recordings"), checks every
field before building a Step, and never executes anything. This module never imports torch.
"""

from __future__ import annotations

import gc
import gzip
import os
import time
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.errors import BadInput, RecordingError
from tui.steps import validate
from tui.steps.lines import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LineError,
    StepDecoder,
    StepEncoder,
    finite,
)
from tui.steps.model import Header, Step
from tui.steps.sink import FOOTER_SIZE, ChildLines, GzipLines, close_quietly

# A block ends after this many steps or this many bytes of lines, whichever comes first.
BLOCK_STEPS = 1000
BLOCK_BYTES = 4 * 2**20
FLUSH_S = 0.25  # a sync flush when a step comes this long after the last one
# Loading bounds (README, "Recordings"): past any of them the file is refused, exit 2.
MAX_LINE = 64 * 2**20  # bytes in one decompressed line
MAX_RATIO = 200  # decompressed bytes per byte of file (the engine's files: about 30)...
MIN_BUDGET = 64 * 2**20  # ...or this many, whichever is more
MAX_STEPS = 20_000_000
_CHUNK = 256 * 2**10
_NO_OFFSET = 2**63  # sorts after any offset: bisecting (step, _NO_OFFSET) finds the block that holds the step


@dataclass(frozen=True, slots=True)
class Recording:
    """A loaded recording: its header and every step, in order.

    `complete` is False for a file cut short (no trailer): its steps are those up to the cut.
    """

    header: Header
    steps: tuple[Step, ...]
    complete: bool = True

    @property
    def notice(self) -> str | None:
        """What a command says on stderr about a recording cut short."""
        return None if self.complete else ended_early(len(self.steps))


def ended_early(count: int) -> str:
    return f"the recording ends early: {count} complete step{'' if count == 1 else 's'}"


class RecordingWriter:
    """Streams steps to a .gstep file, storing only what changed since the previous step.

    Memory stays bounded: the writer holds the previous step's tensors and the last graph
    (tui.steps.lines.StepEncoder, which the engine's pipe uses too) and the index. An existing
    file is replaced only at `close`, by renaming a temporary file beside it over it; a new
    path is written in place, so a run killed midway leaves its steps there.
    `background=True` encodes and compresses in a writer process of its own (tui.steps.sink),
    on another core than the script's; the file is the same. Use it as a context manager so
    the trailer is written even when the script raised.
    """

    def __init__(self, path: str | Path, header: Header, *, background: bool = False) -> None:
        self.path = Path(path)
        self._target = self.path
        if self.path.exists():
            self._target = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._lines: GzipLines | ChildLines | None = None
        try:
            raw = open(self._target, "wb")
        except OSError as error:
            raise self._failed(error) from None
        if background:
            try:
                self._lines = ChildLines.start(raw)
            except OSError:
                pass  # no writer process (no executable, no fork): write here
        if self._lines is None:
            try:
                self._lines = GzipLines(raw)  # writes the gzip header
            except OSError as error:
                close_quietly(raw)
                raise self._failed(error) from None
        self._pid = os.getpid()  # a forked child (a DataLoader worker) must not write into our file
        self._encoder = StepEncoder()
        self._blocks = 0
        self._block_start = 0  # the step the current block starts at
        self._block_bytes = 0
        self._flushed = time.monotonic()
        self._write(StepEncoder.header(header))

    @property
    def count(self) -> int:
        return self._encoder.count

    def _failed(self, error: OSError) -> BadInput:
        self._abandon()
        return BadInput(f"cannot write {self.path}: {error.strerror or error}")

    def _write(self, record: dict[str, Any]) -> None:
        assert self._lines is not None, "write after close"
        try:
            self._block_bytes += self._lines.write(record)
        except OSError as error:
            raise self._failed(error) from None

    def _start_block(self) -> None:
        assert self._lines is not None
        try:
            self._lines.block(self.count)
        except OSError as error:
            raise self._failed(error) from None
        self._blocks += 1
        self._block_start = self.count
        self._encoder.restart()
        self._block_bytes = 0

    def append(self, step: Step) -> None:
        """Write one step, storing each tensor only when it differs from the previous step."""
        if os.getpid() != self._pid or self._lines is None:
            return
        if not self._blocks or self.count - self._block_start >= BLOCK_STEPS or self._block_bytes >= BLOCK_BYTES:
            self._start_block()
        for record in self._encoder.encode(step):
            self._write(record)
        if step.output:
            try:
                self._lines.output(step.output)
            except OSError as error:
                raise self._failed(error) from None
        now = time.monotonic()
        if now - self._flushed >= FLUSH_S:
            self.flush()
            self._flushed = now

    def flush(self) -> None:
        """Everything written so far reaches the file (a zlib sync flush)."""
        if self._lines is None or os.getpid() != self._pid:
            return
        try:
            self._lines.flush()
        except OSError as error:
            raise self._failed(error) from None

    def close(self) -> None:
        """Write the trailer, the index and the footer, and close the file (safe to call twice)."""
        if self._lines is None or os.getpid() != self._pid:
            return
        self._write(self._encoder.end())
        try:
            self._lines.finish(self.count)
        except OSError as error:
            raise self._failed(error) from None
        self._lines = None
        if self._target != self.path:
            try:
                os.replace(self._target, self.path)
            except OSError as error:
                raise self._failed(error) from None

    def _abandon(self) -> None:
        """A write failed: close what is open; a temporary file goes, the file it was to replace stays."""
        if self._lines is not None:
            self._lines.abandon()
        self._lines = None
        if self._target != self.path:
            try:
                os.unlink(self._target)
            except OSError:
                pass

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


# -- reading --------------------------------------------------------------------------------------


class _Cut(Exception):
    """The compressed data stops before the stream's end (kill -9, a full disk)."""


def _raw_lines(path: Path, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """The decompressed lines of a file (or of one block, from `start` inflating raw deflate).

    Bounded: no line over MAX_LINE, no more than the budget in all. A stream that stops early
    ends the iteration after its last whole line and raises _Cut.
    """
    try:
        file = open(path, "rb")
    except OSError as error:
        raise RecordingError(f"cannot read {path}: {error.strerror or error}") from None
    with file:
        size = os.fstat(file.fileno()).st_size
        budget = max(MIN_BUDGET, MAX_RATIO * size)
        file.seek(start)
        raw_deflate = start > 0
        inflater = zlib.decompressobj(-15 if raw_deflate else 31)
        pending = b""  # non-empty while a line is incomplete
        partial: list[bytes] = []
        partial_size = 0
        total = 0
        first = True
        remaining = None if stop is None else stop - start
        while True:
            want = _CHUNK if remaining is None else min(_CHUNK, remaining)
            chunk = file.read(want) if want > 0 else b""
            if remaining is not None:
                remaining -= len(chunk)
            if first and not raw_deflate:
                if not chunk:
                    raise RecordingError(f"{path} is empty: not a gradstep recording")
                if chunk[:2] != b"\x1f\x8b":
                    raise RecordingError(f"{path} is not a gradstep recording (not gzip-compressed JSON lines)")
            first = False
            if not chunk:
                if pending and raw_deflate:
                    yield b"".join(partial)  # a block read up to `stop`: the index said where it ends
                    return
                if not inflater.eof or pending:
                    if raw_deflate:
                        return
                    raise _Cut()
                return
            data = chunk
            while data:
                try:
                    out = inflater.decompress(data, _CHUNK * 4)
                except zlib.error as error:
                    if "incorrect data check" in str(error) or "incorrect length check" in str(error):
                        raise RecordingError(f"{path} is damaged: its checksum does not match its data") from None
                    raise RecordingError(f"{path} is damaged: its compressed data is invalid ({error})") from None
                data = inflater.unconsumed_tail
                total += len(out)
                if total > budget:
                    raise RecordingError(
                        f"{path} decompresses to more than {budget // 2**20:,} MB ({MAX_RATIO}x its size): refused"
                    )
                if out:
                    if b"\n" not in out:  # a long line goes on: no copy of what came before
                        partial.append(out)
                        partial_size += len(out)
                        if partial_size > MAX_LINE:
                            raise RecordingError(f"{path} has a line longer than {MAX_LINE // 2**20} MB: refused")
                    else:
                        partial.append(out)
                        pieces = b"".join(partial).split(b"\n")
                        last = pieces.pop()
                        partial, partial_size = [last], len(last)
                        yield from pieces
                    pending = b"" if partial_size == 0 else b"x"
                if inflater.eof:
                    rest = inflater.unused_data
                    if raw_deflate:
                        if pending:
                            yield b"".join(partial)
                        return
                    inflater = zlib.decompressobj(31)  # the next gzip member (the index, the footer)
                    while rest[:1] == b"\x00":  # zero padding after the last member
                        rest = rest[1:]
                    if rest and rest[:2] != b"\x1f\x8b":
                        raise RecordingError(f"{path} is damaged: unexpected data after its compressed stream")
                    data = rest


def _parsed(path: Path, lines: Iterable[bytes], first_number: int = 1) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(lines, start=first_number):
        if not raw.strip():
            continue
        try:
            record = validate.parse_line(raw)
        except validate.BadLine as error:
            if number == 1:
                raise RecordingError(f"{path} is not a gradstep recording") from None
            raise RecordingError(f"{path} is corrupt at line {number}: {error}") from None
        yield number, record


def _check_header(path: Path, record: dict[str, Any]) -> Header:
    if record.get("format") != FORMAT_NAME:
        raise RecordingError(f"{path} is not a gradstep recording")
    version = record.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordingError(f"{path} is corrupt at line 1: its format version is {str(version)[:20]}, not 1 or more")
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"{path} was written by a newer gradstep (format {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade gradstep to open it"
        )
    try:
        validate.check_header(record)
    except validate.BadLine as error:
        raise RecordingError(f"{path} is corrupt at line 1: {error}") from None
    return Header.from_json(record)


class _Reader:
    """Walks the records of a file after its header, decoding steps; says how it ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: Header | None = None
        self.complete = False
        self.promised: int | None = None
        self.decoder = StepDecoder()

    def steps(self) -> Iterator[Step]:
        path = self.path
        ended = False
        between = 0
        try:
            for number, record in _parsed(path, _raw_lines(path)):
                if self.header is None:
                    self.header = _check_header(path, record)
                    continue
                kind = record.get("t")
                if ended:
                    if kind in ("index", "footer"):
                        continue
                    raise RecordingError(f"{path} is corrupt at line {number}: data after the end of the recording")
                if kind == "end":
                    if record.get("steps") != self.decoder.count:
                        raise RecordingError(
                            f"{path} is corrupt at line {number}: it promises {str(record.get('steps'))[:20]} steps"
                        )
                    ended = True
                    continue
                step = self._decode(number, record)
                if step is not None:
                    between = 0
                    yield step
                else:
                    between += 1
                    if between > 2:  # a step has at most a block and a graph line before it
                        raise RecordingError(f"{path} is corrupt at line {number}: a third line in a row that is not a step")
        except _Cut:
            pass
        if self.header is None:
            raise RecordingError(f"{path} is empty: not a gradstep recording (no complete header line; damaged or cut short?)")
        self.complete = ended

    def _decode(self, number: int, record: dict[str, Any]) -> Step | None:
        try:
            step = self.decoder.decode(record)
        except (LineError, validate.BadLine) as error:
            raise RecordingError(f"{self.path} is corrupt at line {number}: {error}") from None
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
            raise RecordingError(f"{self.path} is corrupt at line {number}: {str(error)[:200]}") from None
        if self.decoder.count > MAX_STEPS:
            raise RecordingError(f"{self.path} holds more than {MAX_STEPS:,} steps: refused")
        return step


def load_recording(path: str | Path) -> Recording:
    """Read and validate a .gstep file; raise RecordingError with a one-line reason if it is not sound.

    A file cut short (no trailer) loads with the steps it holds and `complete=False`.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"no such recording: {path}" if not path.exists() else f"{path} is not a file")
    # Loading builds hundreds of thousands of small acyclic objects; the cyclic collector
    # would walk them again and again and find nothing (7-30% of the load, more in a big process).
    collecting = gc.isenabled()
    gc.disable()
    try:
        reader = _Reader(path)
        steps = tuple(reader.steps())
        assert reader.header is not None
        return Recording(header=reader.header, steps=steps, complete=reader.complete)
    finally:
        if collecting:
            gc.enable()


def header_line(path: str | Path) -> dict[str, Any]:
    """The raw header of a recording, for tests and tools that only need it."""
    try:
        for _, record in _parsed(Path(path), _raw_lines(Path(path))):
            return record
    except _Cut:
        pass
    raise RecordingError(f"{path} is empty: not a gradstep recording")


@dataclass(frozen=True, slots=True)
class StepAt:
    """One step of a recording, read without keeping the others: what `show` prints."""

    header: Header
    step: Step
    count: int  # steps in the recording
    output: str  # what the script wrote up to and including the step
    complete: bool

    @property
    def notice(self) -> str | None:
        return None if self.complete else ended_early(self.count)


@dataclass(frozen=True, slots=True)
class RecordingIndex:
    steps: int
    blocks: tuple[tuple[int, int], ...]
    output: tuple[str, ...]


def read_index(path: Path) -> RecordingIndex | None:
    """The index a finished format-2 file ends with, or None (cut short, format 1, or not sound)."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < FOOTER_SIZE * 2:
                return None
            file.seek(size - FOOTER_SIZE)
            footer = validate.parse_line(gzip.decompress(file.read(FOOTER_SIZE)).rstrip(b"\n"))
            at = footer.get("index")
            if footer.get("t") != "footer" or not isinstance(at, int) or not 0 < at < size - FOOTER_SIZE:
                return None
            file.seek(at)
            packed = file.read(size - FOOTER_SIZE - at)
        inflater = zlib.decompressobj(31)
        data = inflater.decompress(packed, MAX_LINE)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        record = validate.parse_line(data.rstrip(b"\n"))
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, validate.BadLine):
        return None
    steps, blocks, output = record.get("steps"), record.get("blocks"), record.get("output")
    try:
        validate.check(steps, "count", "steps")
        validate.check(blocks, ("list", ("pair", ("count", "count"))), "blocks")
        validate.check(output, ("list", "str"), "output")
    except validate.BadLine:
        return None
    assert isinstance(steps, int) and isinstance(blocks, list) and isinstance(output, list)
    firsts = [first for first, _ in blocks]
    offsets = [offset for _, offset in blocks]
    if record.get("t") != "index" or len(output) != len(blocks) or steps > MAX_STEPS:
        return None
    if firsts != sorted(set(firsts)) or offsets != sorted(set(offsets)) or (blocks and offsets[-1] >= at):
        return None
    if blocks and (firsts[0] != 0 or firsts[-1] >= max(steps, 1)):
        return None
    return RecordingIndex(steps, tuple((first, offset) for first, offset in blocks), tuple(output))


def _header_of(path: Path) -> Header:
    try:
        for _, record in _parsed(path, _raw_lines(path)):
            return _check_header(path, record)
    except _Cut:
        pass
    raise RecordingError(f"{path} is empty: not a gradstep recording")


def _pick(count: int, wanted: int | None) -> int:
    if count == 0:
        raise BadInput("the recording holds no steps")
    if wanted is None:
        return count - 1
    if not 0 <= wanted < count:
        raise BadInput(f"no step {wanted}: the recording has steps 0 to {count - 1}")
    return wanted


def read_step(path: str | Path, wanted: int | None = None) -> StepAt:
    """Step `wanted` (None: the last) of a recording, holding one block of steps at most.

    A finished file is read through its index: the header, then the one block that holds the
    step. A file without an index is read from the start, one step at a time.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"no such recording: {path}" if not path.exists() else f"{path} is not a file")
    index = read_index(path)
    if index is None:
        return _read_step_streaming(path, wanted)
    header = _header_of(path)
    target = _pick(index.steps, wanted)
    block = block_of(index, target)
    output = ["".join(index.output[:block])]
    for step in block_steps(path, index, block):
        output.append(step.output)
        if step.index == target:
            return StepAt(header, step, index.steps, "".join(output), complete=True)
    raise RecordingError(f"{path} is corrupt: its index points to a block without step {target}")


def block_of(index: RecordingIndex, step: int) -> int:
    """The block of the index that holds step `step` (0 <= step < index.steps)."""
    return bisect_right(index.blocks, (step, _NO_OFFSET)) - 1


def block_steps(path: Path, index: RecordingIndex, block: int) -> list[Step]:
    """Every step of one block of an indexed file, checked against the index (RecordingError if not)."""
    first, offset = index.blocks[block]
    last = index.blocks[block + 1][0] if block + 1 < len(index.blocks) else index.steps
    stop = index.blocks[block + 1][1] if block + 1 < len(index.blocks) else None
    decoder = StepDecoder()
    decoder.count = first
    reader = _Reader(path)
    reader.decoder = decoder
    steps: list[Step] = []
    try:
        for number, record in _parsed(path, _raw_lines(path, offset, stop), first_number=0):
            if record.get("t") in ("end", "index", "footer") or len(steps) == last - first:
                break
            step = reader._decode(number, record)
            if step is not None:
                if step.index != first + len(steps):
                    raise RecordingError(f"{path} is corrupt: its block {block} holds step {step.index}, not {first + len(steps)}")
                steps.append(step)
    except _Cut:
        pass
    if len(steps) != last - first:
        raise RecordingError(f"{path} is corrupt: its index points to a block without step {first + len(steps)}")
    return steps


def _read_step_streaming(path: Path, wanted: int | None) -> StepAt:
    reader = _Reader(path)
    kept: Step | None = None
    output: list[str] = []
    for step in reader.steps():
        if wanted is None or step.index <= wanted:
            output.append(step.output)
            kept = step
    assert reader.header is not None
    count = reader.decoder.count
    target = _pick(count, wanted)
    assert kept is not None and kept.index == target
    return StepAt(reader.header, kept, count, "".join(output), reader.complete)

