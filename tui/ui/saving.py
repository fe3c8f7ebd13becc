"""ctrl+s: write the session's history as a .gstep recording on a thread worker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from tui.engine.model import Header, Step

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


def save_path(header: Header, folder: Path | None = None) -> Path:
    """<folder, else the current directory>/<script stem>.gstep."""
    return (folder or Path.cwd()) / f"{Path(header.script).stem}.gstep"


def start_save(
    app: App,
    header: Header,
    steps: tuple[Step, ...],
    breakpoints: tuple[int, ...],
    folder: Path | None = None,
) -> Path:
    """Write the recording off the UI thread; the worker posts RecordingSaved or SaveFailed.

    `folder` is where the app was started: the script may have moved the process's cwd.
    """
    path = save_path(header, folder)
    header = replace(header, breakpoints=breakpoints)

    def write() -> None:
        from tui.engine.recording import write_recording  # plain data, no torch

        try:
            write_recording(path, header, steps)
        except Exception as error:  # the learner gets one line; the app stays up
            app.post_message(SaveFailed(str(error) or type(error).__name__))
            return
        app.post_message(RecordingSaved(path, len(steps)))

    app.run_worker(write, name="save", group="save", thread=True, exclusive=True)
    return path
