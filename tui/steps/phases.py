"""Which phase of a training loop a step is in: forward, backprop, optimize or reset.

Event steps carry their phase by kind: backward and accumulate sub-steps are
backprop, optimizer sub-steps optimize, zero_grad() reset. A line step's phase comes
from what changed since the previous step, so that a hand-written loop (an update
under no_grad, `.grad = None`) reads exactly like one using torch.optim:

- a .grad set to None or to zeros                      -> reset
- a leaf's value changed (in place under no_grad, by an optimizer, through .data)
                                                        -> optimize
- a .grad accumulated (appeared or changed, not zero)  -> backprop
- a new or changed tensor with a grad_fn               -> forward
- nothing of the above                                 -> the previous step's phase
                                                          (None before anything happened)

When several changes fall between two steps (stepping over many lines, continuing
to a breakpoint, breaks-only runs), the latest one wins: a forward whose graph no
backward has run through yet is the latest; else the last backward / optimizer.step()
/ zero_grad() seen in between; else reset, then optimize, backprop, forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.steps.model import Kind, Phase, TensorView

EVENT_PHASES: dict[Kind, Phase] = {
    "backward": "backprop",
    "accumulate": "backprop",
    "optimizer": "optimize",
    "reset": "reset",
}
# Later in a training loop's order wins when several changes land in one step.
_PRIORITY: tuple[Phase, ...] = ("reset", "optimize", "backprop", "forward")


def _grad_changed(before: TensorView, after: TensorView) -> bool:
    return (before.grad, before.grad_summary, before.has_grad) != (after.grad, after.grad_summary, after.has_grad)


def _value_changed(before: TensorView, after: TensorView) -> bool:
    return before.version != after.version or (before.value, before.summary) != (after.value, after.summary)


def changes(
    previous: Mapping[str, TensorView],
    current: Mapping[str, TensorView],
    previous_ids: Mapping[str, int] | None = None,
    current_ids: Mapping[str, int] | None = None,
) -> dict[Phase, list[str]]:
    """The phases that the differences between two steps' tensors point to, with the names.

    `previous_ids` / `current_ids` (name -> id of the live tensor) tell a name bound
    to a new tensor from the same tensor changed; without them views are compared.
    """
    found: dict[Phase, list[str]] = {}
    for name, after in current.items():
        before = previous.get(name)
        if before is after:
            continue
        rebound = before is None or (
            previous_ids is not None and current_ids is not None and previous_ids.get(name) != current_ids.get(name)
        )
        if after.grad_fn is not None and (before is None or rebound or before.version != after.version or before != after):
            found.setdefault("forward", []).append(name)
        if rebound or before is None:
            continue  # a name bound to another tensor: only its grad_fn says something
        if _grad_changed(before, after):
            if before.has_grad and (not after.has_grad or is_all_zero(after)):
                found.setdefault("reset", []).append(name)
            elif after.has_grad and not is_all_zero(after):
                found.setdefault("backprop", []).append(name)
        if after.is_leaf and after.requires_grad and _value_changed(before, after):
            found.setdefault("optimize", []).append(name)
    return found


def line_phase(
    found: Mapping[Phase, object],
    previous_phase: Phase | None,
    last_event: Phase | None = None,
    fresh_forward: bool = False,
) -> Phase | None:
    """The phase of a line step from the changes found (or the previous phase).

    `last_event` is the phase of the last backward / optimizer step / zero_grad run
    since the previous step; `fresh_forward` says a forward-changed tensor's graph
    has not been through a backward yet (so that forward came last).
    """
    if "forward" in found and fresh_forward:
        return "forward"
    if last_event is not None:
        return last_event
    for phase in _PRIORITY:
        if phase in found:
            return phase
    return previous_phase


def event_phase(kind: Kind, previous_phase: Phase | None) -> Phase | None:
    """The phase of a step by its kind (line-like kinds inherit)."""
    return EVENT_PHASES.get(kind, previous_phase)


def is_all_zero(view: TensorView) -> bool:
    """Whether a view's .grad holds only zeros."""
    if view.grad_summary is not None:
        return view.grad_summary.zeros == view.grad_summary.numel
    return _all_zero(view.grad)


def is_zero_tensor(view: TensorView) -> bool:
    """Whether a view's values are all zeros."""
    if view.summary is not None:
        return view.summary.zeros == view.summary.numel
    return _all_zero(view.value)


def _all_zero(values: Any) -> bool:
    if isinstance(values, tuple):
        return all(_all_zero(item) for item in values)
    return bool(values == 0)
