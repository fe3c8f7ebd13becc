"""A decorator for the app's handlers: a bug in one becomes a notification, never a crash."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Whatever goes wrong in a handler becomes a notification, never a crash."""

    @functools.wraps(handler)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # the app must stay up for the learner
            self.notify(f"{type(error).__name__}: {error}", title="gradstep hit a problem", severity="error", markup=False)
            return None

    return wrapper
