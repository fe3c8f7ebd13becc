"""Compare two recordings of one script step by step (CPU against CUDA, or two learning rates).

Steps are aligned by index. For each, the named tensors present in both are
compared with numpy.isclose semantics (|a - b| <= atol + rtol * |b|): values
and .grad in full, or a summary's statistics when a tensor was too big to keep.
Devices are not compared: a CPU and a CUDA run of the same script agree when
their numbers do. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.steps.model import Step, Summary, TensorView

# Summary fields compared as numbers with the tolerance, and as exact counts.
SUMMARY_STATS = ("min", "max", "mean", "std")
SUMMARY_COUNTS = ("numel", "nan", "inf")


@dataclass(frozen=True)
class Difference:
    """One tensor field that differs at one step."""

    step: int
    tensor: str
    field: str  # "value", "grad", "value summary (mean)", "shape", "grad presence", ...
    a: str
    b: str
    abs_diff: float  # the largest |a - b| over its elements (inf when not comparable)


@dataclass(frozen=True)
class Divergence:
    """The first step where the two runs stop doing the same thing."""

    step: int
    a: str
    b: str


@dataclass(frozen=True)
class DiffReport:
    """What `gradstep diff` prints: where the runs part and by how much."""

    steps_a: int
    steps_b: int
    compared: int
    differing_steps: int
    first: Difference | None
    largest: Difference | None
    divergence: Divergence | None
    only_in_a: tuple[str, ...] = ()
    only_in_b: tuple[str, ...] = ()
    first_tensor: Difference | None = None  # the first among tensors only (first may be an lr)

    @property
    def same(self) -> bool:
        """True when no step and no tensor differ beyond the tolerance."""
        return (
            self.first is None
            and self.divergence is None
            and self.steps_a == self.steps_b
            and not self.only_in_a
            and not self.only_in_b
        )


def _array(values: Any) -> np.ndarray:
    """Nested values as float64 ("nan"/"inf" strings become NaN/inf; booleans 0/1)."""
    return np.asarray(values, dtype=np.float64)


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        gaps = np.abs(a - b)
    both_nan = np.isnan(a) & np.isnan(b)
    same_inf = np.isinf(a) & (a == b)
    gaps = np.where(both_nan | same_inf, 0.0, gaps)
    if gaps.size == 0:
        return 0.0
    return float(np.nanmax(np.where(np.isnan(gaps), np.inf, gaps)))


def _text(values: Any) -> str:
    try:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):  # complex numbers or an unreadable-tensor marker, kept as text
        return str(values)[:80]
    shown = ", ".join(f"{number:.8g}" for number in flat[:4])
    return shown if flat.size <= 4 else f"[{shown}, … {flat.size} values]"


def _compare_values(a: Any, b: Any, rtol: float, atol: float) -> tuple[bool, float]:
    """(close, largest |a - b|) for two nested value tuples of one shape.

    Values that are not real numbers (complex numbers stored as text, markers of unreadable
    tensors) are compared for equality: equal is a gap of 0, different is not comparable (inf).
    """
    try:
        left, right = _array(a), _array(b)
    except (TypeError, ValueError):
        return (True, 0.0) if a == b else (False, float("inf"))
    if left.shape != right.shape:
        return False, float("inf")
    close = bool(np.all(np.isclose(left, right, rtol=rtol, atol=atol, equal_nan=True)))
    return close, _max_abs(left, right)


def _compare_summaries(a: Summary, b: Summary, rtol: float, atol: float) -> tuple[str | None, float]:
    """The first summary statistic that differs (None when all agree) and the largest gap among the stats."""
    worst, failing = 0.0, None
    for name in SUMMARY_COUNTS:
        if getattr(a, name) != getattr(b, name):
            return name, float("inf")
    for name in SUMMARY_STATS:
        left, right = getattr(a, name), getattr(b, name)
        if left is None or right is None:
            if (left is None) != (right is None):
                return name, float("inf")
            continue
        close, gap = _compare_values(left, right, rtol, atol)
        worst = max(worst, gap)
        if not close and failing is None:
            failing = name
    return failing, worst


def _field(
    step: int, tensor: str, field: str, values: tuple[Any, Any], summaries: tuple[Summary | None, Summary | None],
    rtol: float, atol: float,
) -> tuple[Difference | None, Difference | None]:
    """(the difference beyond tolerance or None, the largest gap seen as a Difference or None)."""
    (value_a, value_b), (summary_a, summary_b) = values, summaries
    if value_a is not None and value_b is not None:
        close, gap = _compare_values(value_a, value_b, rtol, atol)
        seen = Difference(step, tensor, field, _text(value_a), _text(value_b), gap)
        return (None if close else seen), seen
    if summary_a is not None and summary_b is not None:
        failing, gap = _compare_summaries(summary_a, summary_b, rtol, atol)
        name = failing or "stats"
        seen = Difference(step, tensor, f"{field} summary ({name})", str(getattr(summary_a, failing or "mean")),
                          str(getattr(summary_b, failing or "mean")), gap)
        return (None if failing is None else seen), seen
    if value_a is None and value_b is None and summary_a is None and summary_b is None:
        return None, None
    # One side kept values in full and the other a summary: compare the summary's stats with the values'.
    full, summary = (value_a, summary_b) if value_a is not None else (value_b, summary_a)
    assert summary is not None
    try:
        flat = _array(full).reshape(-1)
    except (TypeError, ValueError):  # not real numbers: a summary cannot stand in for them
        apart = Difference(step, tensor, field, _text(value_a), _text(value_b), float("inf"))
        return apart, apart
    finite = flat[np.isfinite(flat)]
    derived = Summary(
        numel=int(flat.size), min=float(finite.min()) if finite.size else None,
        max=float(finite.max()) if finite.size else None, mean=float(finite.mean()) if finite.size else None,
        std=summary.std, nan=int(np.isnan(flat).sum()), inf=int(np.isinf(flat).sum()), zeros=summary.zeros,
        first=summary.first,
    )
    failing, gap = _compare_summaries(derived, summary, rtol, atol)
    seen = Difference(step, tensor, f"{field} summary ({failing or 'stats'})", "", "", gap)
    return (None if failing is None else seen), seen


def compare_tensors(
    step: int, name: str, a: TensorView, b: TensorView, rtol: float, atol: float
) -> tuple[Difference | None, Difference | None]:
    """The first difference of one tensor between two runs, and its largest gap (value or grad)."""
    if a.shape != b.shape:
        mismatch = Difference(step, name, "shape", str(a.shape), str(b.shape), float("inf"))
        return mismatch, mismatch
    first, largest = _field(step, name, "value", (a.value, b.value), (a.summary, b.summary), rtol, atol)
    if a.has_grad != b.has_grad:
        presence = Difference(step, name, "grad presence", str(a.has_grad), str(b.has_grad), float("inf"))
        return first or presence, presence
    if a.has_grad:
        grad_first, grad_largest = _field(
            step, name, "grad", (a.grad, b.grad), (a.grad_summary, b.grad_summary), rtol, atol
        )
        first = first or grad_first
        if grad_largest is not None and (largest is None or grad_largest.abs_diff > largest.abs_diff):
            largest = grad_largest
    return first, largest


def _compare_scalars(index: int, a: Step, b: Step, rtol: float, atol: float) -> list[Difference]:
    """Numbers the steps carry besides tensors (an optimizer's lr, momentum) that differ beyond the tolerance."""
    found = []
    for name, left in a.scalars.items():
        right = b.scalars.get(name, left)
        numbers = all(isinstance(item, int | float) and not isinstance(item, bool) for item in (left, right))
        if numbers:
            close, gap = _compare_values(left, right, rtol, atol)
            if not close:
                found.append(Difference(index, name, "value", _text(left), _text(right), gap))
        elif left != right:
            found.append(Difference(index, name, "value", str(left), str(right), float("inf")))
    return found


def _where(step: Step) -> str:
    text = step.kind if step.line is None else f"{step.kind} at line {step.line}"
    if step.node is not None:
        text += f" ({step.node.name})"
    return text


def diff_steps(a: Sequence[Step], b: Sequence[Step], *, rtol: float = 1e-5, atol: float = 1e-6) -> DiffReport:
    """Compare two runs step by step (by index) and report the first and the largest difference."""
    first: Difference | None = None
    first_tensor: Difference | None = None
    largest: Difference | None = None
    divergence: Divergence | None = None
    differing = 0
    only_a: dict[str, None] = {}
    only_b: dict[str, None] = {}
    # Recordings share a TensorView between steps while it does not change: compare each pair once.
    verdicts: dict[tuple[int, int], tuple[Difference | None, Difference | None]] = {}
    count = min(len(a), len(b))
    for index in range(count):
        step_a, step_b = a[index], b[index]
        if divergence is None and (step_a.kind, step_a.line) != (step_b.kind, step_b.line):
            divergence = Divergence(index, _where(step_a), _where(step_b))
        step_differs = False
        for name, view_a in step_a.tensors.items():
            view_b = step_b.tensors.get(name)
            if view_b is None:
                only_a[name] = None
                continue
            key = (id(view_a), id(view_b))
            if key not in verdicts:
                verdicts[key] = compare_tensors(index, name, view_a, view_b, rtol, atol)
            found, gap = verdicts[key]
            if found is not None:
                step_differs = True
                if first_tensor is None:
                    first_tensor = Difference(index, name, found.field, found.a, found.b, found.abs_diff)
                    first = first or first_tensor
            if gap is not None and (largest is None or gap.abs_diff > largest.abs_diff):
                largest = Difference(index, name, gap.field, gap.a, gap.b, gap.abs_diff)
        only_b.update((name, None) for name in step_b.tensors if name not in step_a.tensors)
        for found in _compare_scalars(index, step_a, step_b, rtol, atol):
            step_differs = True
            first = first or found
            if largest is None or found.abs_diff > largest.abs_diff:
                largest = found
        differing += step_differs
    return DiffReport(
        steps_a=len(a),
        steps_b=len(b),
        compared=count,
        differing_steps=differing,
        first=first,
        largest=largest,
        divergence=divergence,
        only_in_a=tuple(only_a),
        only_in_b=tuple(only_b),
        first_tensor=first_tensor,
    )
