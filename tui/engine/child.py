"""The engine's child process: runs one script and streams its steps to the app.

    python -m tui.engine.child run SCRIPT --steps-fd W --commands-fd R [--device D]
                                          [--max-steps N] [--break LINE ...] [--script-arg=WORD ...]
    python -m tui.engine.child devices          a JSON list of {name, available, reason, details}
    python -m tui.engine.child check-device D   exit 2 with one line when D cannot be used

`run` writes, on the steps fd, the recording's own lines (tui.steps.lines): the header, then
graph and step records as the script reaches them, then a result record and the trailer:
    {"t": "failed", "error": TEXT, "code": 2|70}     the session could not start (no header)
    {"t": "result", "status": S, "steps": N, "exception": {...} | null}   how the run ended
    {"t": "reply", "id": K, "paths": [...], "notes": [...]}                a live export's files
    {"t": "reply", "id": K, "error": TEXT, "error_type": NAME}             or why not
    {"t": "input", "prompt": TEXT}        the script called input(): the app answers with a line
Commands arrive on the commands fd, one JSON object a line: {"c": "step_into"} (step_over,
step_out, resume, pause, stop), {"c": "set_breakpoints", "lines": [...]},
{"c": "export", "id": K, "request": {...}}, {"c": "input", "text": LINE} (or "eof": true) answering
an input record (a stop or the end of the commands ends a pending input() with EOFError);
{"c": "evaluate", "id": K, "expr": TEXT} (answered {"t": "reply", "id": K, "evaluation": {...}}),
{"c": "set_watches", "exprs": [...]}, {"c": "set_conditions", "conditions": [[LINE, TEXT], ...]},
{"c": "set_break_on", "rules": [TEXT]}. A reader thread takes them while the script runs,
so a pause reaches a running script. The end of the commands (the app went away) stops the
script; the process then leaves without waiting on it.

The script gets the process as `python script.py` would give it: its own cwd, sys.path and
sys.argv are changed here, never the app's. Nothing else is written to the terminal: the
app starts this process with stdout and stderr pointed away from it.
"""

from __future__ import annotations

import sys

# What `python script.py` would already hold when the script starts (the interpreter's own
# modules, with runpy's): a file beside the script never stands in for one of these.
_STARTUP_MODULES = frozenset(sys.modules)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path
from typing import IO, Any

from tui.engine.child_inspect import INSPECT_COMMANDS, inspect_options, serve_inspect  # noqa: E402
from tui.engine.client import PLAIN_COMMANDS  # noqa: E402
from tui.steps.lines import StepEncoder, dumps  # noqa: E402

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


# Modules of the engine's that a file beside the script shadows, taken out of sys.modules so
# that the script imports its own (a random.py, rich.py, graphviz.py), as `python script.py` would.
_engine_modules: dict[str, Any] = {}


def _step_aside(folder: Path) -> None:
    """Take out of sys.modules what the script's folder shadows; the engine keeps what it bound."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    names = {entry.stem for entry in entries if entry.suffix == ".py"}
    names |= {entry.name for entry in entries if (entry / "__init__.py").is_file()}
    for name in names - _STARTUP_MODULES - {"tui"}:
        for module in [key for key in sys.modules if key == name or key.startswith(name + ".")]:
            _engine_modules[module] = sys.modules.pop(module)


@contextmanager
def _engine_imports() -> Any:
    """For a live export (its late imports): the engine's modules back, the script's after it."""
    script_modules = {name: sys.modules.pop(name) for name in list(sys.modules)
                      if name.partition(".")[0] in {key.partition(".")[0] for key in _engine_modules}}
    sys.modules.update(_engine_modules)
    try:
        yield
    finally:
        for name in _engine_modules:
            sys.modules.pop(name, None)
        sys.modules.update(script_modules)


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
        with _engine_imports():
            result = session.export_live(_request(data))
    except BaseException as error:  # noqa: BLE001 - the app shows the one line
        writer.send({"t": "reply", "id": ident, "error": str(error) or type(error).__name__,
                     "error_type": type(error).__name__})
        return
    writer.send({"t": "reply", "id": ident, "paths": [str(path) for path in result.paths],
                 "notes": list(result.notes)})


class AppInput:
    """The script's input() in the child: the prompt goes to the app, the line comes back as a command."""

    def __init__(self, writer: StepWriter) -> None:
        self._writer = writer
        self._lines: queue.Queue[str | None] = queue.Queue()

    def read_line(self, prompt: str) -> str | None:
        """In the script's thread: ask the app, wait for its answer (None: end of input)."""
        self._writer.send({"t": "input", "prompt": prompt})
        return self._lines.get()

    def answer(self, command: dict[str, Any]) -> None:
        text = command.get("text")
        self._lines.put(None if command.get("eof") or not isinstance(text, str) else text)

    def close(self) -> None:
        """A stop, or the app went away: a pending input() ends with EOFError."""
        self._lines.put(None)


def _serve(session: Any, writer: StepWriter, commands: IO[bytes], lines: AppInput | None = None) -> None:
    """Take the app's commands until they end."""
    plain = set(PLAIN_COMMANDS)
    for raw in commands:
        try:
            command = json.loads(raw)
            name = command["c"]
        except (ValueError, KeyError, TypeError):
            continue
        if name == "input" and lines is not None:
            lines.answer(command)
        elif name in plain:
            if name == "stop" and lines is not None:
                lines.close()
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
        from tui.engine.session import (
            Session,  # imports torch: the app has painted meanwhile
        )
        from tui.errors import GradstepError

        _preload()
    except BaseException as error:  # noqa: BLE001 - torch missing or broken
        writer.send({"t": "failed", "error": f"the engine could not load: {error}", "code": 70})
        return 70

    done = threading.Event()
    lines = AppInput(writer)

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
            argv=args.script_args,
            read_line=lines.read_line,
            inspect=inspect_options(args),
        )
    except GradstepError as error:
        writer.send({"t": "failed", "error": str(error), "code": 2})
        return 2
    except Exception as error:  # noqa: BLE001
        writer.send({"t": "failed", "error": f"{type(error).__name__}: {error}", "code": 70})
        return 70
    writer.send(StepEncoder.header(session.header))
    _step_aside(Path(args.script).resolve().parent)
    session.start()
    try:
        _serve(session, writer, commands, lines)
    finally:
        lines.close()
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
    # The script's sys.argv[1:], one `--script-arg=WORD` each (the `=` form takes words that start with -).
    runner.add_argument("--script-arg", dest="script_args", action="append", default=[])
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
