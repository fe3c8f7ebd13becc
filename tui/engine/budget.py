"""How a recording spends its step cap on a long run, so that the steps it keeps stay useful.

A `gradstep record` run under the default cap of N = 100,000 steps keeps:
- every step (each backward node, optimizer update and reset) until half the cap is used;
- then the line steps only (sub-steps are not made: the state on the next line shows their
  effect) until three quarters are used;
- then only the line steps of every 10th iteration of the innermost loop (lines outside
  loops are always kept), every 100th past seven eighths, every 1,000th past fifteen
  sixteenths;
- and the cap still ends the run with an explicit `limit` step when it is reached.
The end (or limit) step's message says what was kept from which step on. An explicit
`--max-steps N`, interactive runs and `StepBudget(..., thin=False)` keep every step up
to the cap and stop there.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_STEPS = 100_000

# (fraction of the cap used, iteration stride); stride 0: sub-steps still kept, 1: lines only.
_STAGES: tuple[tuple[float, int], ...] = ((0.0, 0), (1 / 2, 1), (3 / 4, 10), (7 / 8, 100), (15 / 16, 1000))


@dataclass
class _Change:
    stage: int
    step: int  # the index of the first step kept under the new stage
    line: int | None
    iteration: int | None


class StepBudget:
    """Decides which steps a long record run keeps past the first half of its cap."""

    def __init__(self, max_steps: int, thin: bool) -> None:
        self.max_steps = max_steps
        self.thin = thin
        self._stage = 0
        self._changes: list[_Change] = []
        self._thresholds = [int(max_steps * fraction) for fraction, _ in _STAGES]

    def _advance(self, count: int) -> int:
        while self._stage + 1 < len(_STAGES) and count >= self._thresholds[self._stage + 1]:
            self._stage += 1
        return self._stage

    def keeps_sub_steps(self, count: int) -> bool:
        """Whether backward / optimizer / reset events still become steps at this count."""
        return not self.thin or self._advance(count) == 0

    def samples(self, count: int) -> bool:
        """Whether line steps are sampled by loop iteration at this count (then ask keeps_line)."""
        return self.thin and _STAGES[self._advance(count)][1] > 1

    def keeps_line(self, count: int, iteration: int | None) -> bool:
        """Whether a line step at this loop iteration is kept (None: not inside a loop)."""
        if not self.thin:
            return True
        stride = _STAGES[self._advance(count)][1]
        return stride <= 1 or iteration is None or iteration % stride == 0

    def kept(self, count: int, line: int | None, iteration: int | None) -> None:
        """A step was kept at index `count`: note where a new stage began."""
        if not self.thin:
            return
        stage = self._advance(count)
        if stage > 0 and (not self._changes or self._changes[-1].stage != stage):
            self._changes.append(_Change(stage, count, line, iteration))

    def message(self) -> str | None:
        """What a thinned run kept, for its last step (None when it kept every step)."""
        if not self._changes:
            return None
        first = self._changes[0]
        parts = [f"kept every step up to step {first.step - 1}"]
        for change in self._changes:
            stride = _STAGES[change.stage][1]
            where = f"step {change.step}" + (f", line {change.line}" if change.line is not None else "")
            if change.iteration is not None:
                where += f", iteration {change.iteration}"
            what = "line steps only" if stride == 1 else f"the line steps of every {stride:,}th loop iteration"
            parts.append(f"{what} from {where}")
        return (
            f"a long run: {'; '.join(parts)} (to stay within {self.max_steps:,} steps; "
            "--max-steps N keeps every step up to N)"
        )
