"""An evaluation or a watch as text: a tensor as the tensors table shows it, anything else as its safe repr."""

from __future__ import annotations

from typing import Sequence

from tui.render.formatting import clip, grad_text, shape_text, value_text
from tui.steps.inspect import Evaluation

# One result line never grows past this (the details of a big tensor are its summary).
RESULT_CHARS = 240


def evaluation_text(evaluation: Evaluation) -> str:
    """`var_1 * var_2 = 12.0000   scalar float32 · grad_fn MulBackward0 · .grad —` and the like, one line."""
    expr = clip(evaluation.expr, 60)
    if evaluation.kind == "tensor" and evaluation.tensor is not None:
        view = evaluation.tensor
        parts = [shape_text(view.shape), view.dtype]
        if view.device != "cpu":
            parts.append(view.device)
        details = f"{' '.join(parts)} · grad_fn {view.grad_fn or '—'} · .grad {grad_text(view)}"
        if view.requires_grad and view.is_leaf:
            details += " · leaf"
        return clip(f"{expr} = {value_text(view, short=False)}   {details}", RESULT_CHARS)
    if evaluation.kind == "error":
        return clip(f"{expr}: ✗ {evaluation.text}", RESULT_CHARS)
    if evaluation.kind == "assigned":
        return clip(f"{expr}: {evaluation.text}", RESULT_CHARS)
    return clip(f"{expr} = {evaluation.text}", RESULT_CHARS)


def watch_lines(watches: Sequence[Evaluation]) -> list[str]:
    """One line per watch, for the app and `gradstep show`."""
    return [evaluation_text(watch) for watch in watches]
