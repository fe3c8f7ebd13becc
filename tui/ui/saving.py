"""ctrl+s: write the session's history as a .gstep recording, or record the whole run, on a worker.

Either way the file is written beside its target and renamed over it at the end, so a
failed save never leaves half a file where a good one was.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from tui.steps.model import Header, Step

if TYPE_CHECKING:
    from textual.app import App


class RecordingSaved(Message):
    """The history was written to `path`."""

    def __init__(self, path: Path, steps: int) -> None:
        super().__init__()
        self.path = path
        self.steps = steps


class SaveFailed(Message):
    """Writing the recording failed (a full disk, a read-only folder)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class RecordProgress(Message):
    """The whole-run recording has this many steps so far."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps


# `gradstep record`'s plain progress line: "recording train.py: 1200 steps, line 12".
PROGRESS_LINE = re.compile(r"^recording .*: (\d+) steps?")
# Its closing line: "wrote run.gstep: 1423 steps (finished)".
WROTE_LINE = re.compile(r"^wrote .*: (\d+) steps")
# How often the background record reports progress.
PROGRESS_INTERVAL_S = 0.5


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def start_save(app: App, header: Header, steps: tuple[Step, ...], breakpoints: tuple[int, ...], path: Path) -> None:
    """Write the history off the UI thread; the worker posts RecordingSaved or SaveFailed."""
    header = replace(header, breakpoints=breakpoints)

    def write() -> None:
        from tui.steps.recording import write_recording  # plain data, no torch

        partial = _partial(path)
        try:
            write_recording(partial, header, steps)
            os.replace(partial, path)
        except Exception as error:  # the learner gets one line; the app stays up
            partial.unlink(missing_ok=True)
            app.post_message(SaveFailed(f"{path}: {error}" if str(error) else type(error).__name__))
            return
        app.post_message(RecordingSaved(path, len(steps)))

    app.run_worker(write, name="save", group="save", thread=True, exclusive=True)


def record_command(script: Path, output: Path, *, device: str | None, max_steps: int | None) -> list[str]:
    """`gradstep record` as a child process: the script runs again, in its own process."""
    command = [sys.executable, "-m", "tui", "record", str(script), "-o", str(output)]
    if device:
        command += ["--device", device]
    if max_steps:
        command += ["--max-steps", str(max_steps)]
    return command


def start_whole_run(app: App, script: Path, path: Path, *, device: str | None, max_steps: int | None) -> None:
    """Record the script to its end in a child `gradstep record`; posts RecordProgress, then Saved or Failed."""

    def record() -> None:
        partial = _partial(path)
        command = record_command(script, partial, device=device, max_steps=max_steps)
        environment = {**os.environ, "GRADSTEP_PROGRESS_INTERVAL": str(PROGRESS_INTERVAL_S)}
        steps = 0
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                cwd=script.parent,
                env=environment,
            )
            assert child.stdout is not None
            last_lines: list[str] = []
            for line in child.stdout:
                if found := PROGRESS_LINE.match(line) or WROTE_LINE.match(line):
                    steps = int(found.group(1))
                    app.post_message(RecordProgress(steps))
                else:
                    last_lines = (last_lines + [line.strip()])[-3:]
            code = child.wait()
            # 0: finished; 1: the script raised (the recording holds every step up to it).
            if code not in (0, 1) or not partial.exists():
                raise RuntimeError(next((text for text in reversed(last_lines) if text), f"exit code {code}"))
            os.replace(partial, path)
        except Exception as error:  # the learner gets one line; the app stays up
            partial.unlink(missing_ok=True)
            app.post_message(SaveFailed(f"{path}: {error}" if str(error) else type(error).__name__))
            return
        app.post_message(RecordingSaved(path, steps))

    app.run_worker(record, name="save-whole", group="save", thread=True, exclusive=True)
