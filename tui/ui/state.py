"""The app's memory of a run: every step seen, where the learner is, breakpoints.

Plain Python (no textual, no torch) so it can be unit-tested on its own.
Going back in time reads an earlier step from here; nothing is re-run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from tui.render.safe_text import VisibleSteps, visible_lines
from tui.steps.lazy import LazySteps
from tui.steps.model import Step, TensorView
from tui.steps.changes import changed_fields as changed_fields  # one home: the HTML page marks the same cells
from tui.steps.queries import END_KINDS, loss_to_follow
from tui.ui.outline import Outline
from tui.ui.series import Series, SeriesCache

# Sub-steps of one backward() / optimizer.step() / zero_grad() call, recorded after its line step.
EVENT_KINDS = ("backward", "accumulate", "optimizer", "reset")
# A search forward in a lazy replay decodes at most this many blocks its scan has not reached yet
# (a block of 1,000 steps takes about 0.2 s on the 2-core development machine).
SEARCH_BLOCKS = 8
# The output pane keeps the tail of the script's output.
OUTPUT_CHARS = 20_000

StepTest = Callable[[Step, Step | None], bool]


class History:
    """Every step of one run, in order, with the learner's position in it."""

    def __init__(self, steps: Iterable[Step] = (), breakpoints: Iterable[int] = ()) -> None:
        self._start(breakpoints)
        for step in steps:
            self.append(step)
        if self.steps:
            self.current = 0

    @classmethod
    def lazy(cls, recorded: LazySteps, breakpoints: Iterable[int] = ()) -> History:
        """A replay's history read from its file block by block (tui.steps.lazy): nothing is appended.

        The first paint needs the first block only (the step count is the index's). What needs every
        step (the lines already run, the row count, the series) comes from an Outline
        (tui.ui.outline), posted by a scan after the first paint; until then the lines already run
        are those of the scan so far and of the current block, and no series is drawn.
        """
        history = cls(breakpoints=breakpoints)
        history._recorded = recorded
        history._lazy = recorded.sibling(transform=visible_block)
        history.steps = history._lazy
        history.max_tensors = max((len(step.tensors) for step in history._lazy.block(0)), default=0)
        history.current = 0
        return history

    def _start(self, breakpoints: Iterable[int]) -> None:
        """An empty history with these breakpoints."""
        self._steps: list[Step] = []  # what append adds to; `steps` is this list, or a lazy replay's sequence
        self.steps: Sequence[Step] = self._steps
        self._lazy: LazySteps | None = None
        self._recorded: LazySteps | None = None
        self.outline: Outline | None = None
        self.search_stopped_at: int | None = None  # where the last find_forward gave up (a lazy replay)
        self.current = -1
        self.breakpoints: set[int] = set(breakpoints)
        # line -> index of the first step at that line: "lines already run" at step k
        # are those first seen before k, without rescanning the history.
        self._first_seen: dict[int, int] = {}
        # Steps are kept as shown: every string with its control characters visible (a recording is
        # data; a script's own escapes are text too). The few steps that changed keep their original
        # here, for saving the run as it was recorded.
        self._visible = VisibleSteps()
        self._originals: dict[int, Step] = {}
        self._output_ends: list[int] = []
        self._output: list[str] = []
        self._output_total = 0
        # A tensor's numbers per step and per iteration, each computed once (steps never change).
        self._series = SeriesCache()
        # The most tensors any step has: the tensor table makes room for them once.
        self.max_tensors = 0

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def head(self) -> int:
        """Index of the newest step (-1 when there is none)."""
        return len(self.steps) - 1

    @property
    def step(self) -> Step | None:
        """The step the learner is looking at."""
        return self.steps[self.current] if 0 <= self.current < len(self.steps) else None

    @property
    def previous(self) -> Step | None:
        """The step before the current one, to tell what changed."""
        return self.steps[self.current - 1] if self.current >= 1 else None

    @property
    def at_head(self) -> bool:
        return self.current >= self.head

    @property
    def finished(self) -> bool:
        """True when the newest step ends the run (end, exception or limit)."""
        return bool(self.steps) and self.steps[-1].kind in END_KINDS

    def append(self, step: Step) -> None:
        """Add the newest step; the position does not move."""
        shown = self._visible.clean(step)
        if shown is not step:
            self._originals[len(self.steps)] = step
            step = shown
        assert self._lazy is None, "a lazily read recording is complete: nothing is appended"
        self._steps.append(step)
        self.max_tensors = max(self.max_tensors, len(step.tensors))
        if step.line is not None and step.kind == "line":
            self._first_seen.setdefault(step.line, len(self.steps) - 1)
        if step.output:
            self._output.append(step.output)
            self._output_total += len(step.output)
        self._output_ends.append(len(self._output))
        self.current = max(self.current, 0)

    @property
    def recorded_steps(self) -> Sequence[Step]:
        """The steps as the engine recorded them (what a save writes), not as shown."""
        if self._recorded is not None:
            return self._recorded
        if not self._originals:
            return list(self.steps)
        return [self._originals.get(index, step) for index, step in enumerate(self.steps)]

    def frozen_steps(self) -> Sequence[Step]:
        """The steps so far, as shown, in a sequence that no later step changes (a copy; a lazy replay's own)."""
        return self._lazy if self._lazy is not None else tuple(self._steps)

    def clear(self) -> None:
        """Forget every step (restart); breakpoints stay."""
        self._start(self.breakpoints)

    def go(self, index: int) -> bool:
        """Move to `index` (clamped); True if the position changed."""
        if not self.steps:
            return False
        target = max(0, min(index, self.head))
        moved = target != self.current
        self.current = target
        return moved

    def toggle_breakpoint(self, line: int) -> bool:
        """Add or remove a breakpoint; True when the line now has one."""
        if line in self.breakpoints:
            self.breakpoints.discard(line)
            return False
        self.breakpoints.add(line)
        return True

    def lines_run(self) -> frozenset[int]:
        """Lines that ran before the current step."""
        if self._lazy is not None and (self.outline is None or self.outline.scanned < self.current):
            return self._lazy_lines_run(self._lazy)
        return frozenset(line for line, first in self._first_seen.items() if first < self.current)

    def _lazy_lines_run(self, steps: LazySteps) -> frozenset[int]:
        """Before the scan gets to the current step: what it found, and the current block's lines before the step."""
        block = steps.block_of(self.current)
        start = steps.block_start(block)
        lines = {line for line, first in self._first_seen.items() if first < self.current}
        lines.update(step.line for step in steps.block(block)[: self.current - start] if step.kind == "line" and step.line is not None)
        return frozenset(lines)

    def adopt(self, outline: Outline) -> None:
        """A scan of the lazily read recording got this far (tui.ui.outline)."""
        if self._lazy is None:
            return
        self.outline = outline
        self._first_seen = dict(outline.first_seen)
        self.max_tensors = max(self.max_tensors, outline.max_tensors)
        if outline.series is not None:
            self._series = outline.series

    @property
    def scanned(self) -> bool:
        """Whether every step's numbers are at hand: always, except a lazy replay before its scan ends."""
        return self._lazy is None or (self.outline is not None and self.outline.series is not None)

    def output(self) -> str:
        """The script's stdout/stderr from the start up to the current step (its tail)."""
        if self.current < 0:
            return ""
        if self._lazy is not None:
            return self._lazy.output_through(self.current, OUTPUT_CHARS, shown=visible_lines)
        pieces = self._output[: self._output_ends[self.current]]
        kept: list[str] = []
        size = 0
        for piece in reversed(pieces):
            kept.append(piece)
            size += len(piece)
            if size >= OUTPUT_CHARS:
                break
        text = "".join(reversed(kept))
        return text[-OUTPUT_CHARS:]

    # -- finding steps -----------------------------------------------------------------

    def find_forward(self, test: StepTest, lines: Collection[int] | None = None) -> int | None:
        """The first recorded step after the current one that passes `test`.

        `lines`: `test` passes only line steps at these lines (a breakpoint's) and ignores the step
        before, so a lazy replay skips the blocks its scan found none of them in. A lazy replay
        decodes at most SEARCH_BLOCKS blocks its scan has not reached yet: past them it gives up and sets
        `search_stopped_at` to the last step it looked at (press the key again to go on).
        """
        self.search_stopped_at = None
        if self._lazy is not None:
            return self._find_forward_lazy(self._lazy, test, lines)
        for index in range(self.current + 1, len(self.steps)):
            if test(self.steps[index], self.steps[index - 1]):
                return index
        return None

    def _find_forward_lazy(self, steps: LazySteps, test: StepTest, lines: Collection[int] | None) -> int | None:
        start = self.current + 1
        if start >= len(steps):
            return None
        known = self.outline.block_lines if self.outline is not None else ()
        unscanned = 0
        for block in range(steps.block_of(start), steps.blocks):
            first = steps.block_start(block)
            if lines is not None and block < len(known) and first > start and not known[block] & set(lines):
                continue  # the scan saw no line step at those lines in this block
            if block >= len(known):
                if unscanned == SEARCH_BLOCKS:
                    self.search_stopped_at = first - 1
                    return None
                unscanned += 1
            decoded = steps.block(block)
            for offset in range(max(0, start - first), len(decoded)):
                index = first + offset
                if offset:
                    previous: Step | None = decoded[offset - 1]
                else:  # the block before's last step (ignored by a test with `lines`: not decoded for it)
                    previous = steps[index - 1] if index and lines is None else None
                if test(decoded[offset], previous):
                    return index
        return None

    def find_backward(self, test: StepTest) -> int | None:
        """The nearest recorded step before the current one that passes `test`."""
        for index in range(self.current - 1, -1, -1):
            if test(self.steps[index], self.steps[index - 1] if index else None):
                return index
        return None

    def line_of_current(self) -> Step | None:
        """The line step the current step belongs to: itself, or the line a sub-step's event ran on."""
        for index in range(self.current, -1, -1):
            if self.steps[index].kind not in EVENT_KINDS:
                return self.steps[index]
        return self.step

    def previous_iteration_start(self) -> int | None:
        """The first step of the previous loop iteration (or of this one, if not at its start)."""
        step = self.step
        if step is None:
            return None
        index = self.current
        key = _iteration_key(step)
        # Walk back to the start of the current iteration...
        while index > 0 and _iteration_key(self.steps[index - 1]) == key:
            index -= 1
        if index < self.current and key[1] is not None:
            return index
        # ...then to the start of the one before it.
        index -= 1
        while index >= 0 and _iteration_key(self.steps[index])[1] is None:
            index -= 1
        if index < 0:
            return None
        key = _iteration_key(self.steps[index])
        while index > 0 and _iteration_key(self.steps[index - 1]) == key:
            index -= 1
        return index

    # -- tensors ------------------------------------------------------------------------

    def series(self, name: str) -> Series | None:
        """`name`'s value and .grad per step, its curve per loop iteration, and where the learner is.

        None while a lazy replay's scan has not finished: the numbers of every step are not at hand.
        """
        if not self.scanned:
            return None
        return self._series.series(self.steps, name, self.current, self.finished)


def visible_block(steps: list[Step]) -> list[Step]:
    """A decoded block's steps with every string made visible (one VisibleSteps a block: its memory goes with it)."""
    shown = VisibleSteps()
    return [shown.clean(step) for step in steps]


def _iteration_key(step: Step) -> tuple[int | None, int | None]:
    return (step.loop_line, step.iteration)


def next_iteration_test(start: Step) -> StepTest:
    """Passes the first step of a loop iteration other than `start`'s."""
    key = _iteration_key(start)
    return lambda step, _previous: step.iteration is not None and _iteration_key(step) != key


def phase_entry_test(phase: str) -> StepTest:
    """Passes a step where `phase` begins (the step before was in another phase)."""
    return lambda step, previous: step.phase == phase and (previous is None or previous.phase != phase)


def at_breakpoint(breakpoints: set[int], conditions: Mapping[int, str] | None = None) -> StepTest:
    """Passes a line step on a breakpoint (read when tested: the learner may add one meanwhile).

    A breakpoint with a condition passes only where the engine said it held (or raised): the
    step's message starts `breakpoint at line N:` (tui.engine.evaluate).
    """

    def test(step: Step, _previous: Step | None) -> bool:
        if step.kind != "line" or step.line not in breakpoints:
            return False
        if conditions is None or step.line not in conditions:
            return True
        return (step.message or "").startswith(f"breakpoint at line {step.line}:")

    return test


def step_over_test(line: Step) -> StepTest:
    """Passes where `n` from `line` (a line step, or the line a sub-step belongs to) stops.

    As the engine's step over: the next line in the same function or a caller, so a call
    and a whole backward() / optimizer.step() on that line are passed over; or the end.
    """

    def test(step: Step, _previous: Step | None) -> bool:
        if step.kind in END_KINDS:
            return True
        if step.kind != "line":
            return False
        return step.depth < line.depth or (step.depth == line.depth and step.function == line.function)

    return test


def step_out_test(start: Step, line: Step | None = None) -> StepTest:
    """Passes the first step back in a caller of `start`'s function; from a sub-step, past its event.

    `line` is the line step a sub-step belongs to (the engine's step out there skips the rest
    of the backward() / optimizer.step(), as step over does).
    """
    if start.kind in EVENT_KINDS and line is not None:
        return step_over_test(line)
    return lambda step, _previous: step.depth < start.depth or step.kind in END_KINDS


def default_tensor(step: Step) -> str | None:
    """The tensor the panes follow until the learner picks one: the loss, else the first tensor."""
    return loss_to_follow(step) or next(iter(step.tensors), None)


