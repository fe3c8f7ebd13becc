"""Plain-text formatting of recorded values, shared by the CLI and the app.

Works on TensorView data only (no torch), and never raises: anything it cannot
format becomes a visible marker.
"""

from __future__ import annotations

from typing import Any

from tui.engine.model import Summary, TensorView

UNFORMATTABLE = "<?>"


def format_number(value: Any, digits: int = 4) -> str:
    """A number as a learner reads it: 3.0720, -24.0000, 12, True, nan."""
    try:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if value != 0 and (abs(value) >= 1e6 or abs(value) < 10 ** -digits):
                return f"{value:.{digits}e}"
            return f"{value:.{digits}f}"
        if isinstance(value, str):  # "nan", "inf", "-inf" as stored
            return value
        return str(value)
    except Exception:  # noqa: BLE001 - a value we cannot format must not break the display
        return UNFORMATTABLE


def format_values(values: Any, digits: int = 4, limit: int = 64) -> str:
    """Nested tuples as a compact bracketed list, cut after `limit` numbers."""
    count = 0

    def render(item: Any) -> str:
        nonlocal count
        if isinstance(item, tuple | list):
            parts = []
            for child in item:
                if count >= limit:
                    parts.append("…")
                    break
                parts.append(render(child))
            return "[" + ", ".join(parts) + "]"
        count += 1
        return format_number(item, digits)

    try:
        return render(values)
    except Exception:  # noqa: BLE001 - see format_number
        return UNFORMATTABLE


def format_summary(summary: Summary, digits: int = 4) -> str:
    """numel, range, mean and std, plus NaN/Inf counts when there are any."""
    text = (
        f"{summary.numel} values in [{format_number(summary.min, digits)}, "
        f"{format_number(summary.max, digits)}], mean {format_number(summary.mean, digits)}, "
        f"std {format_number(summary.std, digits)}"
    )
    if summary.nan or summary.inf:
        text += f", {summary.nan} NaN, {summary.inf} Inf"
    return text


def format_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


def format_value(view: TensorView, digits: int = 4, limit: int = 64) -> str:
    """The tensor's value in full, or its summary when too big to keep."""
    if view.value is not None:
        return format_values(view.value, digits, limit)
    if view.summary is not None:
        return format_summary(view.summary, digits)
    return UNFORMATTABLE


def format_grad(view: TensorView, digits: int = 4, limit: int = 64) -> str:
    """The tensor's .grad in full or as a summary; `None` when it has none."""
    if not view.has_grad:
        return "None"
    if view.grad is not None:
        return format_values(view.grad, digits, limit)
    if view.grad_summary is not None:
        return format_summary(view.grad_summary, digits)
    return UNFORMATTABLE
