"""Safe, bounded text for tensor values, grads and summaries, shared by the CLI, export and the app (no torch here)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tui.render.safe_text import visible
from tui.steps.model import Summary, TensorView, Values

# A cell in the tensor table never grows past this; the details pane shows the rest.
CELL_CHARS = 30
# Full values in the details pane stop after this many characters.
DETAIL_CHARS = 20_000
# The tensors table's columns, (field, heading), in order: the app's table and the HTML page's.
TENSOR_COLUMNS = (
    ("name", "name"),
    ("shape", "shape"),
    ("value", "value"),
    ("grad", ".grad"),
    ("accumulated", "backwards"),
    ("requires_grad", "req_grad"),
    ("device", "device"),
    ("grad_fn", "grad_fn"),
)


def safe_str(value: Any) -> str:
    """str() that never raises: a failing __str__ becomes a visible marker."""
    try:
        return str(value)
    except Exception as error:  # a broken __str__ must not take the app down
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def format_number(number: Any) -> str:
    """One number as the course prints it: 4 decimals, scientific when tiny or huge."""
    if isinstance(number, bool):
        return "True" if number else "False"
    if isinstance(number, int):
        return str(number)
    if isinstance(number, str):  # "nan", "inf", "-inf" as the model stores them (any other string: shown as text)
        return visible(number)
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            return str(number)
        magnitude = abs(number)
        if magnitude != 0.0 and (magnitude < 1e-4 or magnitude >= 1e6):
            return f"{number:.3e}"
        return f"{number:.4f}"
    return safe_str(number)


def format_values(values: Values | None, limit: int = DETAIL_CHARS) -> str:
    """Nested values on one line, cut at `limit` characters with an ellipsis."""
    parts: list[str] = []
    length = 0

    def walk(item: Any) -> bool:
        nonlocal length
        if length > limit:
            return False
        if isinstance(item, tuple):
            parts.append("[")
            length += 1
            for position, child in enumerate(item):
                if position:
                    parts.append(", ")
                    length += 2
                if not walk(child):
                    return False
            parts.append("]")
            length += 1
            return True
        text = format_number(item)
        parts.append(text)
        length += len(text)
        return True

    walk(values)
    text = "".join(parts)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def format_rows(values: Values | None, limit: int = DETAIL_CHARS) -> str:
    """A matrix as one row per line (deeper tensors fall back to nested brackets)."""
    if isinstance(values, tuple) and values and all(isinstance(row, tuple) for row in values):
        lines = [format_values(row, limit) for row in values]
        text = "\n".join(lines)
        return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
    return format_values(values, limit)


def format_summary(summary: Summary, *, short: bool = False) -> str:
    """A summary of a big tensor: count, mean and spread, and any NaN/Inf."""
    mean = "?" if summary.mean is None else format_number(summary.mean)
    low = "?" if summary.min is None else format_number(summary.min)
    high = "?" if summary.max is None else format_number(summary.max)
    alarms = []
    if summary.nan:
        alarms.append(f"{summary.nan} NaN")
    if summary.inf:
        alarms.append(f"{summary.inf} Inf")
    if short:
        text = f"{summary.numel:,}× μ {mean} [{low}, {high}]"
    else:
        std = "?" if summary.std is None else format_number(summary.std)
        first = format_values(tuple(summary.first), 200)
        text = (
            f"{summary.numel:,} values  mean {mean}  std {std}  min {low}  max {high}  "
            f"zeros {summary.zeros:,}\nfirst {first}"
        )
    return text + ("  ⚠ " + ", ".join(alarms) if alarms else "")


def clip(text: str, width: int = CELL_CHARS) -> str:
    """One line of at most `width` characters."""
    line = text.replace("\n", " ")
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def value_text(view: TensorView, *, short: bool = True) -> str:
    """A tensor's value, or its summary when it was too big to keep."""
    if view.value is not None:
        return clip(format_values(view.value, 200)) if short else format_rows(view.value)
    if view.summary is not None:
        return format_summary(view.summary, short=short)
    return "?"


def grad_text(view: TensorView, *, short: bool = True) -> str:
    """A tensor's .grad, its summary, or a dash when there is none."""
    if not view.has_grad:
        return "—"
    if view.grad is not None:
        return clip(format_values(view.grad, 200)) if short else format_rows(view.grad)
    if view.grad_summary is not None:
        return format_summary(view.grad_summary, short=short)
    return "?"


def shape_text(shape: Iterable[int]) -> str:
    """(2, 3) as `2×3`, a 0-d tensor as `scalar`."""
    sizes = tuple(shape)
    return "×".join(str(size) for size in sizes) if sizes else "scalar"


def optional_view_text(view: TensorView | None) -> str:
    """A grad that arrived at or left an autograd node (None when there was none)."""
    if view is None:
        return "None"
    if view.value is not None:
        return clip(format_values(view.value, 200), 40)
    if view.summary is not None:
        return format_summary(view.summary, short=True)
    return "?"


def _mean(values: Any) -> float | None:
    total = 0.0
    count = 0
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            total += float(item)
            count += 1
    if count == 0:
        return None
    mean = total / count
    return mean if math.isfinite(mean) else None


def scalar_of(values: Values | None, summary: Summary | None) -> float | None:
    """One number that tracks a tensor over time: itself if 0-d, else its mean."""
    if values is not None:
        if isinstance(values, (int, float)) and not isinstance(values, bool):
            number = float(values)
            return number if math.isfinite(number) else None
        return _mean(values)
    if summary is not None and summary.mean is not None:
        return float(summary.mean) if math.isfinite(summary.mean) else None
    return None
