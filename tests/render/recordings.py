"""Real recordings of real scripts for the render tests, each recorded once per test process."""

from __future__ import annotations

import functools
from pathlib import Path

from tests.conftest import SCRIPTS
from tests.engine.recorded import record_steps
from tui.steps.model import Step

LESSONS = Path(__file__).parents[2] / "lessons"


@functools.lru_cache(maxsize=None)
def recorded(script: str, stop_after: int | None = None) -> tuple[Step, ...]:
    """The steps of tests/scripts/<script> (or lessons/<script>), recorded by the engine."""
    path = SCRIPTS / script if (SCRIPTS / script).exists() else LESSONS / script
    _, steps = record_steps(path, stop_after=stop_after)
    return tuple(steps)


def lesson_03() -> tuple[Step, ...]:
    """Lesson 03 up to its first reset and a little past it."""
    return recorded("03-sgd-to-15.py", 24)


def step_at(steps: tuple[Step, ...], kind: str, name: str | None = None) -> Step:
    """The first step of this kind (and node name)."""
    return next(step for step in steps if step.kind == kind and (name is None or (step.node and step.node.name == name)))
