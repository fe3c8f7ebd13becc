"""Errors a user sees as one line and a documented exit code, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# Exit codes are part of the CLI contract (README, "Exit codes").
EXIT_OK = 0
EXIT_SCRIPT_RAISED = 1  # record: the script raised; diff: differences found
EXIT_BAD_INPUT = 2  # missing file, syntax error, corrupt recording, unavailable device
EXIT_NO_GRAPHVIZ = 3  # an image export needs Graphviz's `dot`
EXIT_INTERNAL = 70  # a bug in gradstep itself (sysexits' EX_SOFTWARE); reported in one line


class GradstepError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = EXIT_BAD_INPUT


class BadInput(GradstepError):
    """The user gave gradstep something it cannot use (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class ScriptCompileError(BadInput):
    """The script does not compile: reported as `SyntaxError at line N: ...`."""


class RecordingError(BadInput):
    """A .gstep file is truncated, corrupt, foreign or from a newer gradstep."""


class DeviceUnavailable(BadInput):
    """The chosen device cannot be used here; the message says why."""


class GraphvizMissing(GradstepError):
    """Graphviz's `dot` is not installed, so only the .dot file was written (exit 3)."""

    exit_code = EXIT_NO_GRAPHVIZ

    def __init__(self, message: str, dot_path: Path | None = None) -> None:
        super().__init__(message)
        self.dot_path = dot_path  # the .dot file written instead (the first of several), when one was
