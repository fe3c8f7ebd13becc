"""The script's input(): its prompt and the learner's line go into the run's output, like a terminal shows them.

The script's stdout is captured per step, so the builtin input() would print its prompt
where nobody sees it. While a run is on, `builtins.input` is this module's: it writes the
prompt to the run's output, asks `read_line(prompt)` for the line (None is the end of
input: EOFError, as Python raises it), and writes the line after the prompt. `record` reads
the terminal (the prompt shown on stderr); the app's child asks the app over its pipe.
"""

from __future__ import annotations

import builtins
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from tui.engine.output import OutputBuffer

LineReader = Callable[[str], "str | None"]


@contextmanager
def script_input(buffer: OutputBuffer, read_line: LineReader | None) -> Iterator[None]:
    """builtins.input reads through `read_line` for the length of the run (no change when None)."""
    if read_line is None:
        yield
        return

    def scripts_input(prompt: Any = "") -> str:
        text = str(prompt)
        buffer.write(text)
        line = read_line(text)
        if line is None:
            raise EOFError("EOF when reading a line")
        line = line.rstrip("\r\n")
        buffer.write(line + "\n")
        return line

    real = builtins.input
    builtins.input = scripts_input
    try:
        yield
    finally:
        if builtins.input is scripts_input:
            builtins.input = real


def terminal_reader() -> LineReader | None:
    """`record` on a terminal: show the prompt on stderr and read the line from stdin (else None: input() unchanged)."""
    stdin, stderr = sys.stdin, sys.__stderr__
    if stdin is None or stderr is None or not stdin.isatty():
        return None

    def read(prompt: str) -> str | None:
        stderr.write(prompt)
        stderr.flush()
        line = stdin.readline()
        return line if line else None

    return read
