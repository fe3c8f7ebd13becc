"""The engine's child process: runs one script and streams its steps to the app.

    python -m tui.engine.child run SCRIPT --steps-fd W --commands-fd R [--device D]
                                          [--max-steps N] [--break LINE ...]
    python -m tui.engine.child devices          a JSON list of {name, available, reason, details}
    python -m tui.engine.child check-device D   exit 2 with one line when D cannot be used

`run` writes, on the steps fd, the recording's own lines (tui.steps.lines): the header, then
graph and step records as the script reaches them, then a result record and the trailer:
    {"t": "failed", "error": TEXT, "code": 2|70}     the session could not start (no header)
    {"t": "result", "status": S, "steps": N, "exception": {...} | null}   how the run ended
    {"t": "reply", "id": K, "paths": [...], "notes": [...]}                a live export's files
    {"t": "reply", "id": K, "error": TEXT, "error_type": NAME}             or why not
Commands arrive on the commands fd, one JSON object a line: {"c": "step_into"} (step_over,
step_out, resume, pause, stop), {"c": "set_breakpoints", "lines": [...]},
{"c": "export", "id": K, "request": {...}}; {"c": "evaluate", "id": K, "expr": TEXT} (answered
{"t": "reply", "id": K, "evaluation": {...}}), {"c": "set_watches", "exprs": [...]},
{"c": "set_conditions", "conditions": [[LINE, TEXT], ...]}, {"c": "set_break_on", "rules": [TEXT]}. A reader thread takes them while the script runs,
so a pause reaches a running script. The end of the commands (the app went away) stops the
script; the process then leaves without waiting on it.

The script gets the process as `python script.py` would give it: its own cwd, sys.path and
sys.argv are changed here, never the app's. Nothing else is written to the terminal: the
app starts this process with stdout and stderr pointed away from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import IO, Any

from tui.engine.client import PLAIN_COMMANDS
from tui.engine.child_inspect import INSPECT_COMMANDS, inspect_options, serve_inspect
from tui.steps.lines import StepEncoder, dumps

# After the commands end (the app quit or died), the script gets this long to stop.
ORPHAN_GRACE_S = 1.0


class StepWriter:
    """Writes records to the app, one line each; any thread (the script's, autograd's, the reader's)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._lock = threading.Lock()
        self._encoder = StepEncoder()
        self._pid = os.getpid()
        self.broken = False

    def send(self, *records: dict[str, Any]) -> None:
        with self._lock:
            self._write(records)

    def step(self, step: Any) -> None:
        with self._lock:  # the encoder remembers the previous step: encode and write in one go
            self._write(self._encoder.encode(step))

    def _write(self, records: Any) -> None:
        if os.getpid() != self._pid or self.broken:  # a forked DataLoader worker must not write
            return
        data = b"".join(dumps(record).encode() + b"\n" for record in records)
        try:
            self._file.write(data)
            self._file.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.broken = True  # the app is gone: the reader sees the end of the commands too

    def end(self) -> dict[str, Any]:
        with self._lock:
            return self._encoder.end()


def _preload() -> None:
    """Import what the engine imports late, before the script's folder goes on sys.path.

    A `graphviz.py` (or `rich.py`) beside the script must not stand in for the real one when
    the learner exports; modules already imported are found in sys.modules first.
    """
    import graphviz  # noqa: F401

    import tui.engine.live_export  # noqa: F401

    try:
        import torchviz  # noqa: F401 - may need setuptools on 3.12+: then live export says so
    except Exception:
        pass


def _request(data: dict[str, Any]) -> Any:
    from tui.render.graph_files import ExportRequest

    return ExportRequest(
        output=Path(str(data["output"])),
        format=str(data.get("format", "svg")),
        tensor=data.get("tensor"),
        values=bool(data.get("values", True)),
        show_attrs=bool(data.get("show_attrs", False)),
        show_saved=bool(data.get("show_saved", False)),
    )


def _export(session: Any, writer: StepWriter, ident: Any, data: dict[str, Any]) -> None:
    """On a thread of its own: the script's thread draws; the reader keeps taking commands."""
    try:
        result = session.export_live(_request(data))
    except BaseException as error:  # noqa: BLE001 - the app shows the one line
        writer.send({"t": "reply", "id": ident, "error": str(error) or type(error).__name__,
                     "error_type": type(error).__name__})
        return
    writer.send({"t": "reply", "id": ident, "paths": [str(path) for path in result.paths],
                 "notes": list(result.notes)})


def _serve(session: Any, writer: StepWriter, commands: IO[bytes]) -> None:
    """Take the app's commands until they end."""
    plain = set(PLAIN_COMMANDS)
    for raw in commands:
        try:
            command = json.loads(raw)
            name = command["c"]
        except (ValueError, KeyError, TypeError):
            continue
        if name in plain:
            getattr(session, name)()
        elif name == "set_breakpoints":
            session.set_breakpoints(int(line) for line in command.get("lines", ()))
        elif name in INSPECT_COMMANDS:  # evaluate hook (tui.engine.evaluate)
            serve_inspect(session, writer, command)
        elif name == "export":
            threading.Thread(
                target=_export, args=(session, writer, command.get("id"), command.get("request", {})),
                name="gradstep-export", daemon=True,
            ).start()


def run(args: argparse.Namespace) -> int:
    writer = StepWriter(open(args.steps_fd, "wb", buffering=1 << 16))
    commands = open(args.commands_fd, "rb", buffering=0)
    try:
        from tui.engine.session import Session  # imports torch: the app has painted meanwhile
        from tui.errors import GradstepError

        _preload()
    except BaseException as error:  # noqa: BLE001 - torch missing or broken
        writer.send({"t": "failed", "error": f"the engine could not load: {error}", "code": 70})
        return 70

    done = threading.Event()

    def on_done(result: Any) -> None:
        exception = result.exception.to_json() if result.exception is not None else None
        writer.send({"t": "result", "status": result.status, "steps": result.steps, "exception": exception},
                    writer.end())
        done.set()
        # Nothing more to do: leave now, whatever threads the script left behind.
        os._exit(0)

    try:
        session = Session(
            args.script,
            on_step=writer.step,
            on_done=on_done,
            mode="interactive",
            max_steps=args.max_steps,
            breakpoints=tuple(args.breaks),
            device=args.device,
            inspect=inspect_options(args),
        )
    except GradstepError as error:
        writer.send({"t": "failed", "error": str(error), "code": 2})
        return 2
    except Exception as error:  # noqa: BLE001
        writer.send({"t": "failed", "error": f"{type(error).__name__}: {error}", "code": 70})
        return 70
    writer.send(StepEncoder.header(session.header))
    session.start()
    try:
        _serve(session, writer, commands)
    finally:
        # The app went away: stop the script, give it a moment, then leave regardless.
        session.stop()
        done.wait(ORPHAN_GRACE_S)
        os._exit(0)
    return 0


def devices(_args: argparse.Namespace) -> int:
    from tui.engine.devices import list_devices

    print(json.dumps([device.to_json() for device in list_devices()]))
    return 0


def check_device(args: argparse.Namespace) -> int:
    from tui.engine.devices import resolve_device
    from tui.errors import GradstepError

    try:
        resolve_device(args.device)
    except GradstepError as error:
        print(str(error))
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.engine.child")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("script", type=Path)
    runner.add_argument("--steps-fd", type=int, required=True)
    runner.add_argument("--commands-fd", type=int, required=True)
    runner.add_argument("--device", default=None)
    runner.add_argument("--max-steps", type=int, default=100_000)
    runner.add_argument("--break", dest="breaks", type=int, action="append", default=[])
    runner.add_argument("--watch", dest="watches", action="append", default=[])
    runner.add_argument("--break-if", dest="conditions", action="append", default=[])
    runner.add_argument("--break-on", dest="break_on", action="append", default=[])
    runner.set_defaults(handler=run)
    lister = commands.add_parser("devices")
    lister.set_defaults(handler=devices)
    checker = commands.add_parser("check-device")
    checker.add_argument("device")
    checker.set_defaults(handler=check_device)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
