"""`gradstep serve [SCRIPT | RECORDING | lesson ID] --port N`: the app in a browser, on this machine only.

textual-serve runs one `gradstep` per browser tab (the same command a terminal would
run: the picker, a script, a replay of a recording, or a lesson) and streams its
screen over a websocket. It listens on 127.0.0.1 only: a class on one machine, or
reached through the instructor's own tunnel, never an open port by default.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tui.errors import BadInput

HOST = "127.0.0.1"


def app_command(target: list[str]) -> list[str]:
    """The gradstep command each browser tab runs."""
    from tui.commands.export import is_recording

    base = [sys.executable, "-m", "tui"]
    if not target:
        return base
    if target[0] == "lesson":
        if len(target) != 2:
            raise BadInput("serve lesson needs one lesson id: gradstep serve lesson 03")
        return [*base, "lesson", target[1]]
    if len(target) != 1:
        raise BadInput("serve takes one script, recording or `lesson ID`")
    path = Path(target[0])
    if not path.exists():
        raise BadInput(f"no such script or recording: {path}")
    absolute = str(path.resolve())
    return [*base, "replay", absolute] if is_recording(path) else [*base, "run", absolute]


def main(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; print the address first."""
    if not 0 < args.port < 65536:
        raise BadInput("--port must be between 1 and 65535")
    command = app_command(list(args.target))
    try:
        from textual_serve.server import Server  # deferred: only serve needs it
    except ImportError:
        raise BadInput("gradstep serve needs textual-serve (pip install textual-serve)") from None
    print(f"gradstep: serving on http://{HOST}:{args.port} (Ctrl-C stops)", flush=True)
    Server(shlex.join(command), host=HOST, port=args.port, title="gradstep").serve()
    return 0
