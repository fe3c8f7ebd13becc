"""Resets by hand: a leaf's `.grad = None` or `.grad.zero_()`, told apart between two steps.

zero_grad() is a call the probes wrap; these are an attribute store and an in-place op
on the grad, which torch gives no hook for. So each step remembers, for every named
leaf that requires grad, which grad tensor it had and that grad's version; at the next
line the runner asks what changed: a grad gone (`= None`), or the same grad written in
place and now all zeros (`.zero_()`), with no backward / optimizer / zero_grad between.
Each becomes a reset step of its own (its ResetEvent's `source` is the statement, e.g.
`w.grad = None`, where zero_grad()'s is the optimizer or module).
"""

from __future__ import annotations

import weakref
from typing import Callable, Iterable, Mapping

import torch  # the script's leaves are read here

from tui.steps.model import ResetEvent, TensorView
from tui.steps.phases import is_all_zero


class ManualResets:
    """What each named leaf's .grad was at the last step, to spot a reset by hand at the next."""

    def __init__(self) -> None:
        self._grads: dict[str, tuple[torch.Tensor, weakref.ref[torch.Tensor] | None, int]] = {}

    def remember(self, named: Iterable[tuple[str, torch.Tensor]]) -> None:
        """At each step: the named leaves that require grad, their grad and its version."""
        grads: dict[str, tuple[torch.Tensor, weakref.ref[torch.Tensor] | None, int]] = {}
        for name, tensor in named:
            if not (tensor.is_leaf and tensor.requires_grad):
                continue
            grad = tensor.grad
            grads[name] = (tensor, None, -1) if grad is None else (tensor, weakref.ref(grad), grad._version)
        self._grads = grads

    def clear(self) -> None:
        self._grads = {}

    def found(
        self, previous: Mapping[str, TensorView], reset_count: Callable[[torch.Tensor], None]
    ) -> list[ResetEvent]:
        """The resets by hand since the last step (one event per form), calling reset_count on each leaf."""
        to_none: list[str] = []
        zeroed: list[str] = []
        for name, (tensor, grad_ref, version) in self._grads.items():
            if grad_ref is None:
                continue
            after = tensor.grad
            if after is None:
                to_none.append(name)
                reset_count(tensor)
                continue
            before_view = previous.get(name)
            if after is grad_ref() and after._version != version and not (before_view and is_all_zero(before_view)):
                if _all_zero(after):
                    zeroed.append(name)
                    reset_count(tensor)
        events = []
        if to_none:
            source = "; ".join(f"{name}.grad = None" for name in to_none)
            events.append(ResetEvent(source=source, tensors=tuple(to_none), set_to_none=True))
        if zeroed:
            source = "; ".join(f"{name}.grad.zero_()" for name in zeroed)
            events.append(ResetEvent(source=source, tensors=tuple(zeroed), set_to_none=False))
        if events:
            self.clear()  # told once: the next step remembers afresh
        return events


def _all_zero(grad: torch.Tensor) -> bool:
    try:
        with torch.no_grad():
            return not bool(grad.any())
    except Exception:  # a grad torch cannot reduce (a meta tensor, say): not called a reset
        return False
