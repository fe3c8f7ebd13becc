"""Predict, then reveal: which numbers a step will change, and whether a learner's guess matches them.

Plain data and the standard library only: the app (tui.ui.predict) words the questions and
their derivations; this module decides what to ask at a step and checks an answer.

A guess is checked element by element against the recorded value: a recorded None wants
`None`; a whole number wants exactly that number; any other number is right within a
relative RELATIVE_TOLERANCE.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.steps.cells import Cell
from tui.steps.model import Step, TensorView, Values

RELATIVE_TOLERANCE = 1e-3
TOLERANCE_TEXT = "tolerance: relative 1e-3, exact for None and whole numbers"
# Steps whose event changes numbers: asked about in predict mode.
EVENT_KINDS = ("backward", "accumulate", "optimizer", "reset")
# A guess longer than this many elements is not asked for (the learner would not type it).
MAX_ELEMENTS = 16
# What a `# %% [predict] ...` marker may name: a tensor, or its .grad.
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.grad)?$")

Missing = object()  # a guess that could not be read


@dataclass(frozen=True)
class Target:
    """One number (or small tensor) a step will change: what to ask for and the recorded answer.

    `field` is "value" or "grad" for a tensor's cell; "sent" for the grad a backward
    node sends along an edge (`tensor` then names where it goes). `answer` is the
    recorded value (None for a .grad that is None).
    """

    tensor: str
    field: str
    answer: Values | None
    step: int
    why: str  # "accumulate", "optimizer", "reset", "backward" or "marked"

    @property
    def label(self) -> str:
        """`var_1.grad`, `var_1`, or `the grad sent to RsubBackward1`."""
        if self.field == "grad":
            return f"{self.tensor}.grad"
        if self.field == "sent":
            return f"the grad sent to {self.tensor}"
        return self.tensor

    @property
    def cell(self) -> tuple[str, str]:
        """The tensor table's (row, column) this target hides while asked."""
        return (self.tensor, self.field)


@dataclass(frozen=True)
class Verdict:
    """A checked guess: right or not, what was typed, and what was recorded."""

    right: bool
    guess: str
    answer: Values | None
    problem: str | None = None  # why the guess could not be read (it counts as wrong)


def parse_guess(text: str) -> Any:
    """A typed guess as a number, a nested tuple of numbers, or None; `Missing` when unreadable.

    `-24`, `None`, `[2, 2, 2]`, `2 2 2`, `2, 2, 2` and `[[1, 0], [0, 1]]` are read.
    """
    text = text.strip()
    if text.lower() in ("none", "null"):
        return None
    if not text:
        return Missing
    if "[" not in text and ("," in text or " " in text.strip()):
        text = "[" + text + "]"
    try:
        value, rest = _read(text.replace(" ", ","), 0)
    except (ValueError, IndexError):
        return Missing
    return value if rest == len(text.replace(" ", ",")) else Missing


def _read(text: str, position: int) -> tuple[Any, int]:
    """A number or a bracketed list from `text` at `position` (commas and spaces between items)."""
    while position < len(text) and text[position] == ",":
        position += 1
    if text[position] == "[":
        items: list[Any] = []
        position += 1
        while True:
            while position < len(text) and text[position] == ",":
                position += 1
            if text[position] == "]":
                return tuple(items), position + 1
            item, position = _read(text, position)
            items.append(item)
    match = re.compile(r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE).match(text, position)
    if match is None:
        raise ValueError("not a number")
    return float(match.group(0).replace("−", "-")), match.end()


def _flat(values: Any) -> list[Any]:
    if isinstance(values, tuple):
        return [item for part in values for item in _flat(part)]
    return [values]


def _shape(values: Any) -> tuple[int, ...]:
    if isinstance(values, tuple):
        return (len(values), *(_shape(values[0]) if values else ()))
    return ()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # "nan", "inf", "-inf" as recordings keep them
        except ValueError:
            return None
    return None


def number_matches(guess: float, answer: float) -> bool:
    """Exact for a whole number, else within RELATIVE_TOLERANCE (NaN matches NaN)."""
    if math.isnan(answer) or math.isnan(guess):
        return math.isnan(answer) and math.isnan(guess)
    if math.isinf(answer) or answer.is_integer():
        return guess == answer
    return abs(guess - answer) <= RELATIVE_TOLERANCE * abs(answer)


def check(text: str, answer: Values | None) -> Verdict:
    """Check a typed guess against a recorded value."""
    guess = parse_guess(text)
    typed = text.strip()
    if guess is Missing:
        return Verdict(False, typed, answer, "could not read it as a number, a list of numbers or None")
    if answer is None or guess is None:
        return Verdict(guess is None and answer is None, typed, answer)
    if isinstance(answer, tuple) and not isinstance(guess, tuple) and _shape(answer) != ():
        return Verdict(False, typed, answer, f"{len(_flat(answer))} numbers were wanted")
    if _shape(guess) != _shape(answer) and len(_flat(guess)) != len(_flat(answer)):
        return Verdict(False, typed, answer, f"{len(_flat(answer))} numbers were wanted")
    for typed_number, recorded in zip(_flat(guess), _flat(answer)):
        number = _number(recorded)
        if number is None or not number_matches(float(typed_number), number):
            return Verdict(False, typed, answer)
    return Verdict(True, typed, answer)


# -- where to ask ------------------------------------------------------------------------


def askable(view: TensorView | None, field: str) -> bool:
    """Whether a tensor's value or .grad is kept in full and small enough to type."""
    if view is None:
        return False
    if field == "grad":
        if not view.has_grad:
            return True  # None: a fine thing to predict
        return view.grad is not None and len(_flat(view.grad)) <= MAX_ELEMENTS
    return view.value is not None and len(_flat(view.value)) <= MAX_ELEMENTS


def field_of(view: TensorView, field: str) -> Values | None:
    return (view.grad if view.has_grad else None) if field == "grad" else view.value


def event_targets(steps: Sequence[Step], index: int) -> list[Target]:
    """What step `index`'s event changes: a leaf's .grad, a parameter's value, the grads a reset clears.

    A backward node's grads (sent along its edges) are worded by the app, which knows
    the edges (tui.render.chain_rule); here it has no target of its own.
    """
    step = steps[index]
    if step.kind not in EVENT_KINDS:
        return []
    before = steps[index - 1] if index > 0 else None
    targets: list[Target] = []
    if step.kind == "accumulate" and step.node is not None and step.node.leaf:
        view = step.tensors.get(step.node.leaf)
        if askable(view, "grad") and view is not None:
            targets.append(Target(step.node.leaf, "grad", field_of(view, "grad"), index, "accumulate"))
    elif step.kind == "optimizer" and step.update is not None:
        view = step.tensors.get(step.update.param) or step.update.after
        if askable(view, "value"):
            targets.append(Target(step.update.param, "value", view.value, index, "optimizer"))
    elif step.kind == "reset" and step.reset is not None:
        for name in step.reset.tensors:
            view = step.tensors.get(name)
            prior = before.tensors.get(name) if before is not None else None
            if view is not None and prior is not None and prior.has_grad and askable(view, "grad"):
                targets.append(Target(name, "grad", field_of(view, "grad"), index, "reset"))
    return targets


def completes(steps: Sequence[Step], line_index: int, index: int) -> bool:
    """Whether step `index` is where the line of step `line_index` has finished (the step `n` stops at)."""
    line = steps[line_index]
    if line.kind != "line" or index <= line_index:
        return False
    for position in range(line_index + 1, index + 1):
        step = steps[position]
        stops = step.kind in ("end", "exception", "limit") or (
            step.kind == "line" and (step.depth < line.depth or (step.depth == line.depth and step.function == line.function))
        )
        if stops:
            return position == index
    return False


def line_step_of(steps: Sequence[Step], index: int) -> int:
    """The line step that step `index` belongs to: itself, or the line whose event sub-steps it is in."""
    position = index
    while position > 0 and steps[position].kind in EVENT_KINDS:
        position -= 1
    return position


def enclosing_line_steps(steps: Sequence[Step], index: int) -> list[int]:
    """The line steps still running at step `index`, innermost first: its own line, then each caller's.

    Inside a custom backward() (deeper line steps) the script's `x.backward()` line is still running.
    """
    position = line_step_of(steps, index)
    found = [position]
    depth = steps[position].depth
    while depth > 0 and position > 0:
        position -= 1
        step = steps[position]
        if step.kind == "line" and step.depth < depth:
            found.append(position)
            depth = step.depth
    return found


def marked_targets(
    steps: Sequence[Step], start: int, index: int, points: Mapping[int, Sequence[str]]
) -> list[Target]:
    """The marked questions due on arriving at step `index` from step `start`.

    A `[predict]` point on line L is due at the step where L's line finishes, when the
    learner's move began while L was running: on L's line step, inside its backward() /
    step() sub-steps, or in code L called (a custom backward()): `n`, `s`, `o`. A jump from
    elsewhere (`g`, End) asks nothing.
    """
    if not points or not 0 <= start < index:
        return []
    for line_index in enclosing_line_steps(steps, start):
        line_step = steps[line_index]
        line = line_step.line
        if line_step.kind == "line" and line is not None and line in points and completes(steps, line_index, index):
            return _asked_at(steps, index, points[line])
    return []


def _asked_at(steps: Sequence[Step], index: int, expressions: Sequence[str]) -> list[Target]:
    """The marked tensors (or .grads) as step `index` holds them, those small enough to type."""
    step = steps[index]
    targets: list[Target] = []
    for expression in expressions:
        name, _, grad = expression.partition(".")
        field = "grad" if grad else "value"
        view = step.tensors.get(name)
        if view is not None and askable(view, field):
            targets.append(Target(name, field, field_of(view, field), index, "marked"))
    return targets


def parse_targets(text: str) -> tuple[str, ...]:
    """The tensor names a `[predict]` marker lists (`var_1.grad var_2.grad`, commas allowed)."""
    return tuple(item for item in re.split(r"[\s,]+", text.strip()) if _TARGET.match(item))


def due_targets(
    steps: Sequence[Step], start: int, index: int, points: Mapping[int, Sequence[str]], asked: Iterable[tuple[str, str]] = ()
) -> list[Target]:
    """Everything to ask on arriving at `index` from `start`: the step's event, then the marked points.

    A cell already asked about since the move began (`asked`) is not asked again.
    """
    seen = set(asked)
    due = []
    for target in [*event_targets(steps, index), *marked_targets(steps, start, index, points)]:
        if target.cell in seen:
            continue
        seen.add(target.cell)
        due.append(target)
    return due


def predict_points(cells: Iterable[Cell]) -> dict[int, tuple[str, ...]]:
    """Line -> what to ask for after it: the first code line of each `# %% [predict] ...` cell."""
    points: dict[int, tuple[str, ...]] = {}
    for cell in cells:
        wanted = tuple(item for item in cell.predict if _TARGET.match(item))
        if not wanted:
            continue
        for offset, text in enumerate(cell.body_lines):
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                points[cell.start_line + 1 + offset] = wanted
                break
    return points
