"""How many backward passes added into each leaf's .grad since it was last reset.

A learner who forgets zero_grad() sees .grad grow pass after pass; the count is what
lets the app say so. It is kept per tensor (weakly: a count never keeps a tensor alive)
and reset when .grad is found None or zero, or a zero_grad() ran over the tensor.
"""

from __future__ import annotations

import weakref

import torch  # counts are kept per live tensor

from tui.steps.model import TensorView
from tui.steps.phases import is_all_zero


class Accumulation:
    """How many backward passes added into each leaf's .grad since it was last reset."""

    def __init__(self) -> None:
        self._counts: dict[int, tuple[weakref.ref, int]] = {}

    def count(self, tensor: torch.Tensor) -> int:
        entry = self._counts.get(id(tensor))
        if entry is None or entry[0]() is not tensor:
            return 0
        return entry[1]

    def set(self, tensor: torch.Tensor, count: int) -> None:
        try:
            self._counts[id(tensor)] = (weakref.ref(tensor), count)
        except TypeError:
            pass

    def added(self, tensor: torch.Tensor, was_reset: bool) -> None:
        self.set(tensor, 1 if was_reset else self.count(tensor) + 1)

    def observed(self, tensor: torch.Tensor, view: TensorView) -> int:
        """The count to show with a snapshot; a .grad found None or zero resets it."""
        if not view.has_grad or is_all_zero(view):
            if self.count(tensor):
                self.set(tensor, 0)
            return 0
        count = self.count(tensor)
        if count == 0:  # a .grad made while nobody watched (before tracking began)
            self.set(tensor, 1)
            return 1
        return count

    def clear(self) -> None:
        self._counts.clear()
