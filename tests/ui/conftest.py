"""Fixtures for UI tests: an app driven by a fake session whose steps the test posts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.fakes import SEED_SOURCE, FakeSession
from tui.ui.app import GradstepApp
from tui.ui.live import LiveTarget
from tui.ui.messages import StepCaptured

SIZE = (160, 48)


class FakeLive:
    """A live app whose session is a FakeSession: the test plays the engine."""

    def __init__(self, source: str = SEED_SOURCE) -> None:
        self.sessions: list[FakeSession] = []
        self.devices: list[str | None] = []
        self.app = GradstepApp(live=LiveTarget(Path("seed_sgd.py"), source, self._start))

    def _start(self, on_step, on_done, breakpoints, device):
        session = FakeSession()
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
