"""How the app drives a live run without importing the engine (or torch) itself.

tui.commands.app builds a LiveTarget whose `start_session` creates and starts
the engine's Session; tests pass a fake. The app calls it on a daemon thread so
the window paints while torch imports, and a stuck script never holds up quit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tui.steps.model import Header, Step
from tui.steps.runs import DeviceInfo, RunResult


class StepSource(Protocol):
    """What the app needs of a running session (tui.engine.session.Session fits)."""

    header: Header

    def step_into(self) -> None: ...
    def step_over(self) -> None: ...
    def step_out(self) -> None: ...
    def resume(self) -> None: ...
    def pause(self) -> None: ...
    def stop(self) -> None: ...
    def set_breakpoints(self, lines: Iterable[int]) -> None: ...


# (on_step, on_done, breakpoints, device) -> a started session (what the callbacks return is ignored)
SessionStarter = Callable[
    [Callable[[Step], object], Callable[[RunResult], object], tuple[int, ...], "str | None"], StepSource
]


@dataclass(frozen=True)
class LiveTarget:
    """A script to run live: its text (shown before the engine is up) and how to start it."""

    script: Path
    source: str
    start_session: SessionStarter
    device: str | None = None
    breakpoints: tuple[int, ...] = ()
    title: str | None = None
    extra: dict = field(default_factory=dict)
    # Lists the devices for the picker without torch in the app (tui.commands.app asks a child).
    list_devices: Callable[[], Sequence[DeviceInfo]] | None = None


def start_in_background(
    target: LiveTarget,
    *,
    on_step: Callable[[Step], object],
    on_done: Callable[[RunResult], object],
    on_started: Callable[[StepSource], object],
    on_failed: Callable[[str], object],
    breakpoints: tuple[int, ...],
    device: str | None,
) -> threading.Thread:
    """Create and start the session on a daemon thread; report back through the callbacks."""

    def create() -> None:
        try:
            session = target.start_session(on_step, on_done, breakpoints, device)
        except Exception as error:  # the learner sees one line; the app stays up
            on_failed(str(error) or type(error).__name__)
            return
        on_started(session)

    thread = threading.Thread(target=create, name="gradstep-session-start", daemon=True)
    thread.start()
    return thread
