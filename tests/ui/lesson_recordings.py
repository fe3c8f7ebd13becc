"""Real recordings of the course's lessons, made once per test process by the engine.

UI tests replay them: what they draw is what the engine records for a learner,
not a hand-built step shape.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from tests.conftest import REPO


@functools.lru_cache(maxsize=None)
def lesson_recording(lesson_id: str, max_steps: int | None = None):
    """lessons/<lesson_id>.py recorded with every step (or the first `max_steps`), loaded back."""
    from tui.engine.recording import load_recording, write_recording
    from tui.engine.session import Session

    steps = []
    options = {} if max_steps is None else {"max_steps": max_steps}
    session = Session(REPO / "lessons" / f"{lesson_id}.py", on_step=steps.append, mode="record", **options)
    session.run()
    path = Path(tempfile.mkdtemp(prefix="gradstep-lesson-")) / f"{lesson_id}.gstep"
    write_recording(path, session.header, steps)
    return load_recording(path)


def find_step(recording, test) -> int:
    """The index of the first step that passes `test`."""
    return next(index for index, step in enumerate(recording.steps) if test(step))
