"""The public JSON of `gradstep show --json` and `gradstep show --timeline --json`.

These shapes are a contract documented in the README: keys are only ever added,
never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.render.events import step_event_lines
from tui.steps.model import Step, TensorView, thaw_values


def tensor_json(view: TensorView) -> dict[str, Any]:
    """One tensor: metadata, `value`/`grad` in full (nested lists) or null with `summary` filled."""
    return {
        "shape": list(view.shape),
        "dtype": view.dtype,
        "device": view.device,
        "requires_grad": view.requires_grad,
        "is_leaf": view.is_leaf,
        "grad_fn": view.grad_fn,
        "value": thaw_values(view.value),
        "grad": thaw_values(view.grad),
        "summary": None if view.summary is None else view.summary.to_json(),
        "grad_summary": None if view.grad_summary is None else view.grad_summary.to_json(),
        "accumulated": view.accumulated,
    }


def _grads(views: Sequence[TensorView | None]) -> list[Any]:
    """Each grad in full (nested lists, a number for 0-d), or its summary object when it is too big."""
    return [None if view is None else _grad(view) for view in views]


def _grad(view: TensorView) -> Any:
    if view.value is None and view.summary is not None:
        return {"summary": view.summary.to_json()}
    return thaw_values(view.value)


def node_json(step: Step) -> dict[str, Any] | None:
    """The autograd node a backward or accumulate step ran: the grads that arrived and those sent on."""
    if step.node is None:
        return None
    return {
        "name": step.node.name,
        "grad_outputs": _grads(step.node.grad_outputs),
        "grad_inputs": _grads(step.node.grad_inputs),
    }


def output_until(steps: Sequence[Step], index: int) -> str:
    """What the script wrote to stdout/stderr up to and including step `index`."""
    return "".join(step.output for step in steps[: index + 1])


def state_json(steps: Sequence[Step], index: int, source: str | None = None) -> dict[str, Any]:
    """The state at one step, as `gradstep show --json` prints it."""
    step = steps[index]
    exception = step.exception
    return {
        "step": step.index,
        "steps": len(steps),
        "kind": step.kind,
        "phase": step.phase,
        "line": step.line,
        "iteration": step.iteration,
        "tensors": {name: tensor_json(view) for name, view in step.tensors.items()},
        "node": node_json(step),
        "exception": None
        if exception is None
        else {"type": exception.type, "message": exception.message, "line": exception.line},
        "stdout": output_until(steps, index),
        # Added: what the step did in words (the chain rule, the update's arithmetic, the reset).
        "event": step_event_lines(step),
        # Added: a classic mistake this step shows, explained ({"title", "text", "line"}), else null.
        "explanation": _explanation(steps, index, source),
        # Added: the run's watches (--watch EXPR) evaluated at this step; [] when it had none.
        "watches": [
            {"expr": watch.expr, "kind": watch.kind, "text": watch.text,
             "tensor": None if watch.tensor is None else tensor_json(watch.tensor)}
            for watch in step.watches
        ],
    }


def _explanation(steps: Sequence[Step], index: int, source: str | None) -> dict[str, Any] | None:
    from tui.render.mistakes import explain  # deferred: only a step shown with its script's source

    if source is None:
        return None
    mistake = explain(steps, index, source)
    return None if mistake is None else {"title": mistake.title, "text": mistake.text, "line": mistake.line}


def timeline_json(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """One entry per step, as `gradstep show --timeline --json` prints it."""
    return [
        {
            "step": step.index,
            "kind": step.kind,
            "phase": step.phase,
            "line": step.line,
            "iteration": step.iteration,
            "node": None if step.node is None else step.node.name,
        }
        for step in steps
    ]
