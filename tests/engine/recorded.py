"""Record the example scripts with the real engine, in-process, for the export and diff tests."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from tests.conftest import SCRIPTS
from tui.engine.session import Session
from tui.steps.model import Step
from tui.steps.recording import write_recording


def record_steps(script: Path, *, stop_after: int | None = None) -> tuple[Session, list[Step]]:
    """Run the script under the engine in record mode; end with a limit step after step `stop_after`."""
    steps: list[Step] = []
    limit = {} if stop_after is None else {"max_steps": stop_after + 1}
    session = Session(script, on_step=steps.append, mode="record", **limit)
    session.run()
    return session, steps


def record_file(script: Path, output: Path, *, stop_after: int | None = None) -> Path:
    """The script's recording as a .gstep file."""
    session, steps = record_steps(script, stop_after=stop_after)
    write_recording(output, session.header, steps)
    return output


@functools.lru_cache(maxsize=1)
def seed_recording() -> Path:
    """tests/scripts/seed_sgd.py recorded once per test process, every step."""
    folder = Path(tempfile.mkdtemp(prefix="gradstep-seed-"))
    return record_file(SCRIPTS / "seed_sgd.py", folder / "seed.gstep")


def first_backward_line(steps: list[Step]) -> Step:
    """The line step of the first `backward()` (its state is just before the backward runs)."""
    position = next(index for index, step in enumerate(steps) if step.kind == "backward")
    return steps[position - 1]


def after_first_backward(steps: list[Step]) -> Step:
    """The first line step after the first backward pass has finished."""
    position = next(index for index, step in enumerate(steps) if step.kind == "backward")
    return next(step for step in steps[position:] if step.kind == "line")


LESSONS = Path(__file__).resolve().parents[2] / "lessons"


@functools.lru_cache(maxsize=None)
def lesson_recording(stem: str, stop_after: int | None = None) -> Path:
    """lessons/<stem>.py recorded once per test process, every step or up to `stop_after` (lesson 03: about 5 s)."""
    folder = Path(tempfile.mkdtemp(prefix="gradstep-lesson-"))
    return record_file(LESSONS / f"{stem}.py", folder / f"{stem}.gstep", stop_after=stop_after)
