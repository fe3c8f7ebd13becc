"""Helpers for the engine tests: record a script, or drive an interactive session command by command."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from tui.engine.session import Session
from tui.steps.model import Step
from tui.steps.runs import RunResult

WAIT = 30.0  # seconds a test waits for a step before failing (the machine may be busy)


def record(script: Path, **options: object) -> tuple[list[Step], RunResult]:
    """Every step of the script in record mode, and how the run ended."""
    steps: list[Step] = []
    result = Session(script, on_step=steps.append, mode="record", **options).run()  # type: ignore[arg-type]
    return steps, result


class Driver:
    """An interactive session in its worker thread; `send` a command, get the step it stops at."""

    def __init__(self, script: Path, **options: object) -> None:
        self.steps: queue.Queue[Step] = queue.Queue()
        self.session = Session(script, on_step=self.steps.put, mode="interactive", **options)  # type: ignore[arg-type]
        self.session.start()
        self.first = self.next_step()

    def next_step(self, timeout: float = WAIT) -> Step:
        return self.steps.get(timeout=timeout)

    def send(self, command: str) -> Step:
        getattr(self.session, command)()
        return self.next_step()

    def resume(self) -> Step:
        """Continue untraced: the engine first says what it ran unrecorded, then where it stopped."""
        untraced = self.send("resume")
        assert untraced.kind == "untraced" and untraced.message.startswith("ran untraced: "), untraced
        stop = self.next_step()
        assert stop.line == untraced.line and stop.index == untraced.index + 1
        return stop

    def no_step_within(self, seconds: float) -> bool:
        try:
            self.steps.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def timed_pause(self) -> tuple[Step, float]:
        """Pause the running script: the step it stops at and how long that took."""
        start = time.perf_counter()
        self.session.pause()
        step = self.next_step()
        if step.kind == "untraced":  # after a resume: what ran unrecorded comes first
            step = self.next_step()
        return step, time.perf_counter() - start

    def close(self) -> RunResult:
        """Stop the script and wait for its thread to put the process back (its streams, argv, path):
        a session left running would restore them in the middle of a later test."""
        self.session.stop()
        result = self.session.wait(WAIT)
        assert result is not None, f"the session did not end within {WAIT} s of stop()"
        return result


def write(folder: Path, name: str, source: str) -> Path:
    """A script file for a test."""
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def printed(steps: list[Step]) -> str:
    """What the script printed over the run: every step's output, in order."""
    return "".join(step.output for step in steps)


def values(step: Step, name: str) -> object:
    return step.tensors[name].value


def grads(step: Step, name: str) -> object:
    view = step.tensors[name]
    return view.grad if view.has_grad else None


def rounded(value: object, digits: int = 4) -> object:
    if isinstance(value, tuple):
        return tuple(rounded(item, digits) for item in value)
    return round(value, digits) if isinstance(value, float) else value
