"""Real recordings of the course's lessons, checked in (tests/fixtures/recordings.py), for UI tests that replay them.

What the tests draw is what the engine records for a learner, not a hand-built step shape, and
loading one needs neither torch nor the engine.
"""

from __future__ import annotations

from tests.fixtures.recordings import lesson as lesson_recording

__all__ = ["find_step", "lesson_recording"]


def find_step(recording, test) -> int:
    """The index of the first step that passes `test`."""
    return next(index for index, step in enumerate(recording.steps) if test(step))
