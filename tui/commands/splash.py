"""The first frame of `gradstep SCRIPT`, painted before Textual is imported.

Importing Textual and building the app's screen take most of a second on a
busy machine, and the engine's child needs one to three more to import torch.
So before any of that, the command paints the learner's source, numbered, under
a "starting…" bar, straight to the terminal Textual is about to take over (the
same stream and the same alternate screen). Textual then draws its first frame
over it. Standard library only: this runs ahead of every heavy import.

Nothing is painted when the stream is not a terminal (tests, pipes, `TERM=dumb`).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, cursor hidden, cleared
LEAVE = "\x1b[2J\x1b[?25h\x1b[?1049l"  # cleared, cursor shown, back to the main screen
BAR = "\x1b[7m"  # reverse video: the bar reads as the app's header until the app paints its own
DIM = "\x1b[2m"
RESET = "\x1b[0m"
TAB = 4


def visible(line: str) -> str:
    """A source line as plain cells: tabs expanded, control characters shown as `\\x..`, never sent raw."""
    line = line.expandtabs(TAB)
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)


def frame(source: str, title: str, columns: int, rows: int) -> str:
    """The escape codes and text of the splash frame for a terminal of `columns` x `rows`."""
    lines = source.splitlines()
    width = len(str(max(len(lines), 1)))
    bar = f" gradstep · {title} · starting… (loading the debugger; torch loads in its own process)"
    parts = [ENTER, BAR, visible(bar)[:columns].ljust(columns), RESET, "\r\n"]
    for number, line in enumerate(lines[: max(rows - 2, 0)], start=1):
        text = visible(line)[: max(columns - width - 2, 0)]
        parts.append(f"{DIM}{number:>{width}}{RESET}  {text}\r\n")
    return "".join(parts)


class Splash:
    """Paints the frame on `paint()`; `clear()` undoes it if the app never starts."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # Textual's Linux driver writes to sys.__stderr__: paint where it will.
        self.stream = stream if stream is not None else sys.__stderr__
        self.painted = False

    def can_paint(self) -> bool:
        stream = self.stream
        if stream is None or os.environ.get("TERM") in (None, "", "dumb") or os.environ.get("GRADSTEP_NO_SPLASH"):
            return False
        try:
            return stream.isatty()
        except (AttributeError, ValueError, OSError):
            return False

    def paint(self, source: str, title: str) -> None:
        stream = self.stream
        if stream is None or not self.can_paint():
            return
        columns, rows = shutil.get_terminal_size()
        try:
            stream.write(frame(source, title, columns, rows))
            stream.flush()
        except OSError:  # a terminal gone already: the app will say so, or not start
            return
        self.painted = True

    def clear(self) -> None:
        """Back to the learner's screen, for when the app does not start after all (an error, Ctrl-C)."""
        stream = self.stream
        if not self.painted or stream is None:
            return
        self.painted = False
        try:
            stream.write(LEAVE)
            stream.flush()
        except OSError:
            pass
