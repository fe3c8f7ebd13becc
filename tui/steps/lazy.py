"""A finished recording opened lazily: its steps decoded a block at a time, when they are read.

`open_recording` reads the footer, the index and the header (tui.steps.recording) and hands back
a LazyRecording whose `steps` is a read-only Sequence[Step]: `steps[k]` inflates the one block that
holds step k (about a thousand steps) and keeps the last few blocks decoded (an LRU), so a replay
paints its first step without decoding the rest and holds a bounded number of steps however long
the recording. A file without an index (cut short, format 1) loads whole, as `load_recording` does.
Plain data: no torch, no textual. Decoding is serialised by a lock, so a background scan and the
app's thread may read the same sequence; each reader usually has its own (`sibling`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from tui.errors import RecordingError
from tui.steps.model import Header, Step
from tui.steps.recording import (
    Recording,
    RecordingIndex,
    _header_of,
    block_of,
    block_steps,
    load_recording,
    read_index,
)

# Decoded blocks kept per sequence: the one on screen, its neighbours (← across a block's edge), the last.
CACHED_BLOCKS = 4

BlockTransform = Callable[[list[Step]], Sequence[Step]]


class LazySteps(Sequence[Step]):
    """The steps of an indexed recording, decoded block by block on demand (read-only).

    `transform` turns a freshly decoded block into the steps handed out (the app makes their
    strings visible there, once per decode). `decoded` counts block decodes, for tests and benchmarks.
    """

    def __init__(self, path: Path, index: RecordingIndex, transform: BlockTransform | None = None,
                 cached_blocks: int = CACHED_BLOCKS) -> None:
        self.path = path
        self.file_index = index
        self._transform = transform
        self._cached_blocks = max(1, cached_blocks)
        self._cache: OrderedDict[int, Sequence[Step]] = OrderedDict()
        self._lock = threading.Lock()
        self.decoded = 0

    def sibling(self, transform: BlockTransform | None = None, cached_blocks: int = CACHED_BLOCKS) -> LazySteps:
        """The same recording with a cache of its own (another thread, another transform).

        Blocks this one holds decoded (and untransformed) start the sibling's cache: no decode twice.
        """
        other = LazySteps(self.path, self.file_index, transform, cached_blocks)
        if self._transform is None:
            with self._lock:
                for block, steps in list(self._cache.items())[-other._cached_blocks :]:
                    other._cache[block] = transform(list(steps)) if transform is not None else steps
        return other

    def __len__(self) -> int:
        return self.file_index.steps

    @property
    def blocks(self) -> int:
        return len(self.file_index.blocks)

    def block_of(self, position: int) -> int:
        """The block that holds step `position`."""
        return block_of(self.file_index, position)

    def block_start(self, block: int) -> int:
        return self.file_index.blocks[block][0]

    def block(self, block: int) -> Sequence[Step]:
        """The steps of block `block`, decoded now unless one of the last few decoded."""
        with self._lock:
            cached = self._cache.get(block)
            if cached is not None:
                self._cache.move_to_end(block)
                return cached
            decoded = block_steps(self.path, self.file_index, block)
            steps: Sequence[Step] = self._transform(decoded) if self._transform is not None else decoded
            self.decoded += 1
            self._cache[block] = steps
            while len(self._cache) > self._cached_blocks:
                self._cache.popitem(last=False)
            return steps

    @overload
    def __getitem__(self, position: int) -> Step: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[Step]: ...

    def __getitem__(self, position: int | slice) -> Step | Sequence[Step]:
        if isinstance(position, slice):
            return _Slice(self, range(len(self))[position])
        count = len(self)
        if position < 0:
            position += count
        if not 0 <= position < count:
            raise IndexError("step index out of range")
        block = self.block_of(position)
        return self.block(block)[position - self.block_start(block)]

    def __iter__(self) -> Iterator[Step]:
        for block in range(self.blocks):
            yield from self.block(block)

    def output_through(self, position: int, keep: int, shown: Callable[[str], str] = str) -> str:
        """The script's output up to and including step `position`: its last `keep` characters at most.

        Earlier blocks' output comes from the index (each piece passed through `shown`, as the
        block's steps were by the transform); only the block that holds the step is decoded.
        """
        block = self.block_of(position)
        start = self.block_start(block)
        steps = self.block(block)
        pieces = [step.output for step in steps[: position - start + 1] if step.output]
        size = sum(len(piece) for piece in pieces)
        for earlier in range(block - 1, -1, -1):
            if size >= keep:
                break
            text = self.file_index.output[earlier]
            if text:
                text = shown(text)
                pieces.insert(0, text)
                size += len(text)
        return "".join(pieces)[-keep:]


class _Slice(Sequence[Step]):
    """A range of a LazySteps, read through it (iterating decodes block by block, never all at once)."""

    def __init__(self, steps: LazySteps, positions: range) -> None:
        self._steps = steps
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, position: int) -> Step: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[Step]: ...

    def __getitem__(self, position: int | slice) -> Step | Sequence[Step]:
        if isinstance(position, slice):
            return _Slice(self._steps, self._positions[position])
        return self._steps[self._positions[position]]

    def __iter__(self) -> Iterator[Step]:
        for position in self._positions:
            yield self._steps[position]


@dataclass(frozen=True, slots=True)
class LazyRecording:
    """An indexed recording, opened without decoding its steps: as a Recording, with lazy `steps`."""

    header: Header
    steps: LazySteps
    complete: bool = True

    @property
    def notice(self) -> str | None:
        return None  # only a finished file has an index


def open_recording(path: str | Path) -> Recording | LazyRecording:
    """A recording for the app: lazy when the file has an index, else loaded whole (RecordingError if unsound).

    The first block is decoded here (the first paint needs it), so an index that points at nothing
    is refused before anything is shown, as a corrupt file is; a later block that cannot be decoded
    is found by the app's scan (tui.ui.outline), which says so.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"no such recording: {path}" if not path.exists() else f"{path} is not a file")
    index = read_index(path)
    if index is None or index.steps == 0 or not index.blocks:
        return load_recording(path)
    header = _header_of(path)
    steps = LazySteps(path, index)
    steps.block(0)
    return LazyRecording(header, steps)
