"""Fixtures for UI tests: an app driven by a fake session (it only notes the commands it is sent)
whose steps the test posts: steps from the checked-in recordings (tests/fixtures/recordings.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.builders import SEED_SOURCE
from tests.fixtures.recordings import load
from tui.ui.app import GradstepApp
from tui.ui.live import LiveTarget
from tui.ui.messages import StepCaptured

SIZE = (160, 48)


class FakeSession:
    """Stands in for the engine's client: records the commands the app sends; tests post the steps."""

    def __init__(self, source: str = SEED_SOURCE) -> None:
        self.header = replace(load("seed_sgd").header, source=source)
        self.commands: list[str] = []
        self.breakpoints: tuple[int, ...] = ()

    def step_into(self) -> None:
        self.commands.append("step_into")

    def step_over(self) -> None:
        self.commands.append("step_over")

    def step_out(self) -> None:
        self.commands.append("step_out")

    def resume(self) -> None:
        self.commands.append("resume")

    def pause(self) -> None:
        self.commands.append("pause")

    def stop(self) -> None:
        self.commands.append("stop")

    def set_breakpoints(self, lines: Iterable[int]) -> None:
        self.breakpoints = tuple(lines)


class FakeLive:
    """A live app whose session is a FakeSession: the test plays the engine."""

    def __init__(self, source: str = SEED_SOURCE, script: str = "seed_sgd.py") -> None:
        self.source = source
        self.sessions: list[FakeSession] = []
        self.devices: list[str | None] = []
        self.app = GradstepApp(live=LiveTarget(Path(script), source, self._start))

    @classmethod
    def of(cls, name: str) -> FakeLive:
        """A fake live app on the script of the checked-in recording `name` (post its steps)."""
        header = load(name).header
        return cls(header.source, Path(header.script).name)

    def _start(self, on_step, on_done, breakpoints, device):
        session = FakeSession(self.source)
        session.breakpoints = tuple(breakpoints)
        self.sessions.append(session)
        self.devices.append(device)
        return session

    @property
    def session(self) -> FakeSession:
        return self.sessions[-1]

    async def started(self, pilot) -> None:
        """Wait until the app holds the fake session."""
        for _ in range(200):
            if self.app.session is not None:
                return
            await pilot.pause(0.01)
        raise AssertionError("the fake session never started")

    async def emit(self, pilot, step) -> None:
        """Post the step the engine would, as the session thread does."""
        self.app.post_message(StepCaptured(step, self.app.generation))
        await pilot.pause()


@pytest.fixture
def fake_live() -> FakeLive:
    return FakeLive()
