"""A tensor's numbers across the history: per step for the sparklines, per loop iteration for the curve.

Plain Python (no textual, no torch), like tui.ui.state, which holds one SeriesCache.

The curve has one point per *round*: a maximal run of consecutive steps with the same
(loop_line, iteration), i.e. one iteration of the innermost loop, or the code before the
loop. A round gives a point when it calls backward(); the point is the tensor's value at
the round's first backward step, the number backward() ran on (for the loss, that
iteration's loss). Rounds without a backward (the lines after the loop, an inner loop
that only updates parameters) give none. Lesson 03 has 101 points: the pass before its
loop, then one per iteration. A history with no loop has no curve: the per-step values
stand in for it.

Steps never change, so every number is computed once: rounds are scanned only for the
steps appended since the last call, curve values only for new points, and the learner's
position is found by bisection. A keystroke costs a lookup, not a scan of the history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from tui.render.formatting import scalar_of
from tui.steps.model import Step, TensorView

# The per-step sparklines sample at most about this many steps across the history.
SPARK_POINTS = 240


@dataclass(frozen=True)
class Curve:
    """A tensor's value once per round (see the module docstring), and the round the learner is in."""

    values: tuple[float | None, ...]  # None where the tensor had no number at that backward
    iterations: tuple[int | None, ...]  # each point's loop iteration (None: before or outside a loop)
    here: int  # the point of the round the current step is in, else the last point before it
    inside: bool  # True when the current step is in the round of point `here`
    of: int | None  # how many iterations that point's loop has run so far
    finished: bool = False  # True when the run has ended: `of` is the loop's full count


@dataclass(frozen=True)
class Series:
    """A tensor's value and .grad across the history, sampled for a sparkline, and where the learner is."""

    values: tuple[float | None, ...]  # None where the tensor does not exist (or is not finite)
    grads: tuple[float | None, ...]  # None where .grad is None: drawn as a gap, never as 0
    here: int | None = None  # the sample the current step falls in
    curve: Curve | None = None  # per loop iteration; None when the history has no loop
    stride: int = 1  # each sample stands for this many steps
    current: int = -1  # the index of the learner's step


class Rounds:
    """The history cut into rounds, extended with each new step (tensor-independent)."""

    def __init__(self) -> None:
        self.scanned = 0
        self.starts: list[int] = []  # the first step of each round
        self.keys: list[tuple[int | None, int | None]] = []
        self.backward: list[int | None] = []  # each round's first backward step
        self.points: list[int] = []  # rounds that have a point, in order
        self.points_through: list[int] = []  # per round: points in it and the rounds before
        self.last_iteration: dict[int | None, int] = {}  # loop line -> its highest iteration
        self.looped = False

    def scan(self, steps: Sequence[Step]) -> None:
        for index in range(self.scanned, len(steps)):
            self.add(steps[index])

    def add(self, step: Step) -> bool:
        """The next step (index `scanned`); True when it gives its round's point."""
        index = self.scanned
        self.scanned += 1
        key = (step.loop_line, step.iteration)
        if not self.keys or key != self.keys[-1]:
            self.starts.append(index)
            self.keys.append(key)
            self.backward.append(None)
            self.points_through.append(len(self.points))
        if step.iteration is not None:
            self.looped = True
            self.last_iteration[step.loop_line] = max(step.iteration, self.last_iteration.get(step.loop_line, 0))
        if step.kind == "backward" and self.backward[-1] is None:
            self.backward[-1] = index
            self.points.append(len(self.keys) - 1)
            self.points_through[-1] = len(self.points)
            return True
        return False

    def position(self, current: int) -> tuple[int, bool] | None:
        """The point to mark at step `current`, and whether the step is inside its round."""
        if not self.points:
            return None
        round_index = bisect_right(self.starts, current) - 1
        if round_index < 0:
            return 0, False
        through = self.points_through[round_index]
        if through == 0:  # before the first backward of the run
            return 0, False
        point = through - 1
        return point, self.points[point] == round_index


def spark_point(view: TensorView | None) -> tuple[float | None, float | None] | None:
    """A tensor's (value, .grad) as sparkline numbers; None for a missing .grad, never 0."""
    if view is None:
        return None
    value = scalar_of(view.value, view.summary)
    grad = scalar_of(view.grad, view.grad_summary) if view.has_grad else None
    return value, grad


class SeriesCache:
    """Series of one history's steps, each number computed once (steps never change)."""

    def __init__(self) -> None:
        self._start()

    @classmethod
    def prefilled(
        cls,
        rounds: Rounds,
        scalars: dict[tuple[int, str], tuple[float | None, float | None] | None],
        curves: dict[str, list[float | None]],
    ) -> SeriesCache:
        """A cache whose numbers a scan of the whole history already computed (tui.ui.outline)."""
        cache = cls()
        cache._rounds, cache._scalars, cache._curves = rounds, scalars, curves
        return cache

    def _start(self) -> None:
        """Nothing computed yet."""
        self._rounds = Rounds()
        # (step index, tensor) -> (value, grad) as sparkline numbers.
        self._scalars: dict[tuple[int, str], tuple[float | None, float | None] | None] = {}
        # tensor -> its curve values for the points computed so far.
        self._curves: dict[str, list[float | None]] = {}
        # The last per-step sampling, kept while neither the name nor the history length changes.
        self._sampled: tuple[str, int, tuple[tuple[float | None, ...], tuple[float | None, ...], int]] | None = None
        # The curve's tuples, rebuilt only when a point is added.
        self._curve_tuples: tuple[str, int, tuple[float | None, ...], tuple[int | None, ...]] | None = None
        # The last Series handed out: the same object while nothing it shows changed.
        self._last: tuple[str, int, int, bool, Series] | None = None

    def _point(self, steps: Sequence[Step], index: int, name: str) -> tuple[float | None, float | None] | None:
        key = (index, name)
        if key not in self._scalars:
            self._scalars[key] = spark_point(steps[index].tensors.get(name))
        return self._scalars[key]

    def series(self, steps: Sequence[Step], name: str, current: int, finished: bool = False) -> Series:
        """`name` across `steps`, with the learner at step `current` (`finished`: the run has ended)."""
        total = len(steps)
        if total < self._rounds.scanned:  # the history was cut short: start again
            self._start()
        if self._last is not None and self._last[:4] == (name, total, current, finished):
            return self._last[4]
        values, grads, stride = self._per_step(steps, name)
        here = min(current // stride, len(values) - 1) if values and current >= 0 else None
        series = Series(values, grads, here, self._curve(steps, name, current, finished), stride, current)
        self._last = (name, total, current, finished, series)
        return series

    def _per_step(
        self, steps: Sequence[Step], name: str
    ) -> tuple[tuple[float | None, ...], tuple[float | None, ...], int]:
        total = len(steps)
        if self._sampled is not None and self._sampled[:2] == (name, total):
            return self._sampled[2]
        stride = max(1, total // SPARK_POINTS)
        values: list[float | None] = []
        grads: list[float | None] = []
        for index in range(0, total, stride):
            point = self._point(steps, index, name)
            values.append(point[0] if point is not None else None)
            grads.append(point[1] if point is not None else None)
        sampled = (tuple(values), tuple(grads), stride)
        self._sampled = (name, total, sampled)
        return sampled

    def _curve(self, steps: Sequence[Step], name: str, current: int, finished: bool) -> Curve | None:
        rounds = self._rounds
        rounds.scan(steps)
        position = rounds.position(current)
        if not rounds.looped or position is None:
            return None
        values = self._curves.setdefault(name, [])
        for round_index in rounds.points[len(values) :]:
            backward = rounds.backward[round_index]
            point = self._point(steps, backward, name) if backward is not None else None
            values.append(point[0] if point is not None else None)
        cached = self._curve_tuples
        if cached is None or cached[:2] != (name, len(values)):
            iterations = tuple(rounds.keys[round_index][1] for round_index in rounds.points)
            cached = self._curve_tuples = (name, len(values), tuple(values), iterations)
        here, inside = position
        loop_line, _iteration = rounds.keys[rounds.points[here]]
        return Curve(
            values=cached[2],
            iterations=cached[3],
            here=here,
            inside=inside,
            of=rounds.last_iteration.get(loop_line),
            finished=finished,
        )
