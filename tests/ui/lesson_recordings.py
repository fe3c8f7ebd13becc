"""Real recordings of the course's lessons, loaded for UI tests that replay them.

What the tests draw is what the engine records for a learner, not a hand-built step shape.
"""

from __future__ import annotations

import functools

from tests.engine.recorded import lesson_recording as lesson_file


@functools.lru_cache(maxsize=None)
def lesson_recording(lesson_id: str, stop_after: int | None = None):
    """lessons/<lesson_id>.py recorded once per test process (every step, or up to `stop_after`), loaded."""
    from tui.steps.recording import load_recording

    return load_recording(lesson_file(lesson_id, stop_after))


def find_step(recording, test) -> int:
    """The index of the first step that passes `test`."""
    return next(index for index, step in enumerate(recording.steps) if test(step))
