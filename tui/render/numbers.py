"""Numbers and small nested-tuple tensors as the arithmetic lines print and check them (no torch)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from tui.render.formatting import format_number, format_summary, shape_text
from tui.steps.model import TensorView

# A tensor is spelled out in an arithmetic line up to this many elements; past it, shape and mean.
SPELLED = 6
# Two numbers are "the same" for a check of a rule against what torch sent (float32 arithmetic).
RELATIVE = 1e-4
ABSOLUTE = 1e-6


def short_number(number: Any) -> str:
    """A number the way a learner writes it: -6, 0.125, 3.072, 0.003222, 1.200e-05 (at most 4 decimals)."""
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return format_number(number)
    if isinstance(number, int):
        return str(number)
    if math.isfinite(number) and number == int(number) and abs(number) < 1e6:
        return str(int(number))
    if 1e-4 <= abs(number) < 1:
        return f"{number:.4g}"  # 4 significant digits: 0.003222, not 0.0032
    text = format_number(number)
    if "e" in text or "." not in text:
        return text
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def hyper_number(number: Any) -> str:
    """A hyperparameter as the script wrote it: 0.003, 0.9, 1e-08."""
    if isinstance(number, bool) or not isinstance(number, float):
        return format_number(number) if isinstance(number, (int, bool)) else str(number)
    return f"{number:g}"


def factor(text: str) -> str:
    """A number as a factor: negative ones in parentheses."""
    return f"({text})" if text.startswith("-") else text


def shape_of(values: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(values, tuple):
        shape.append(len(values))
        if not values:
            break
        values = values[0]
    return tuple(shape)


def flat(values: Any) -> list[Any]:
    if isinstance(values, tuple):
        return [number for item in values for number in flat(item)]
    return [values]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric(values: Any) -> bool:
    """True when every element is a finite-or-not int/float (no 'nan' strings, no bools)."""
    return all(is_number(item) for item in flat(values))


def elementwise(function: Callable[..., float], *operands: Any) -> Any:
    """Apply `function` element by element; an operand with one element is broadcast."""
    shapes = [shape_of(operand) for operand in operands]
    full = max(shapes, key=len)
    for shape, operand in zip(shapes, operands):
        if shape != full and len(flat(operand)) != 1:
            raise ValueError("shapes differ")

    def at(operand: Any, shape: tuple[int, ...], path: Sequence[int]) -> Any:
        if shape != full:
            return flat(operand)[0]
        for index in path:
            operand = operand[index]
        return operand

    def build(path: tuple[int, ...]) -> Any:
        if len(path) == len(full):
            return function(*(at(operand, shape, path) for operand, shape in zip(operands, shapes)))
        return tuple(build(path + (index,)) for index in range(full[len(path)]))

    return build(())


def transpose(values: Any) -> Any:
    rows = [list(row) for row in values]
    return tuple(tuple(row[column] for row in rows) for column in range(len(rows[0]) if rows else 0))


def matmul(left: Any, right: Any) -> Any:
    if len(shape_of(left)) != 2 or len(shape_of(right)) != 2 or len(left[0]) != len(right):
        raise ValueError("not two matrices that multiply")
    columns = transpose(right)
    return tuple(tuple(sum(a * b for a, b in zip(row, column)) for column in columns) for row in left)


def close(computed: Any, recorded: Any) -> bool:
    """True when a rule's numbers are what torch sent (same element count, float32 tolerance)."""
    left, right = flat(computed), flat(recorded)
    if len(left) != len(right) or not all(map(is_number, left + right)):
        return False
    return all(math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE) for a, b in zip(left, right))


def values_text(values: Any) -> str:
    """Nested values with short numbers: -24, [[1, 0]], [0.5, 2, 3]."""
    if isinstance(values, tuple):
        return "[" + ", ".join(values_text(item) for item in values) + "]"
    return short_number(values)


def view_number(view: TensorView | None) -> str:
    """A grad or a saved tensor in an arithmetic line: the number, a few values, or shape and summary."""
    if view is None:
        return "None"
    if view.value is not None:
        if not isinstance(view.value, tuple):
            return short_number(view.value)
        if view.numel <= SPELLED:
            return values_text(view.value)
        mean = sum(flat(view.value)) / view.numel if numeric(view.value) else None
        return f"[{shape_text(view.shape)} μ {short_number(mean)}]"
    if view.summary is not None:
        return f"[{format_summary(view.summary, short=True)}]"
    return "?"


def scalar(view: TensorView | None) -> float | None:
    """The number of a one-element tensor with its values kept (else None)."""
    if view is None or view.value is None or view.numel != 1:
        return None
    number = flat(view.value)[0]
    return float(number) if is_number(number) else None


def step_counter(step: int, last: int) -> str:
    """`step 11/1422`: a step's 0-based number over the last step's, as the phase bar and `show` say it."""
    return f"step {step}/{last}" if last >= 0 else "no steps yet"
