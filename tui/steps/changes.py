"""Which of a tensor's table columns changed since the step before: the app's table and the HTML page mark the same cells."""

from __future__ import annotations

from tui.steps.model import TensorView


def changed_fields(view: TensorView, before: TensorView | None) -> frozenset[str]:
    """Which table columns of a tensor differ from the step before."""
    if view is before:  # the engine reuses the view of a tensor that did not change
        return frozenset()
    if before is None:
        return frozenset({"name", "shape", "value", "grad", "requires_grad", "device", "grad_fn"})
    changed = set()
    if view.shape != before.shape:
        changed.add("shape")
    if view.value != before.value or view.summary != before.summary:
        changed.add("value")
    if (view.has_grad, view.grad, view.grad_summary, view.accumulated) != (
        before.has_grad,
        before.grad,
        before.grad_summary,
        before.accumulated,
    ):
        changed.add("grad")
    if view.requires_grad != before.requires_grad:
        changed.add("requires_grad")
    if view.device != before.device:
        changed.add("device")
    if view.grad_fn != before.grad_fn:
        changed.add("grad_fn")
    return frozenset(changed)
