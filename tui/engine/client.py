"""The app's side of the engine's child process: a session whose script runs in another process.

`ChildSession` starts `python -m tui.engine.child run SCRIPT` (tui.engine.child documents the
two pipes), waits for the header, then reads steps on a thread of its own and hands each to
`on_step`; `on_done` gets how the run ended. Commands return at once. Whatever the script
does to its process (sys.exit, os._exit, a segfault, os.chdir, sys.path, a graphviz.py beside
it) stays there: if the child ends without its result, on_done is told how it died (an exit
code or a signal) and every step already read stays with the app.

This module is the app's: standard library, tui.steps and tui.errors only. It never imports
torch; the child does.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast, get_args

import tui
from tui.errors import BadInput, GradstepError
from tui.steps.inspect import BreakOn, Evaluation, InspectOptions
from tui.steps.lines import FORMAT_NAME, LineError, StepDecoder, dumps
from tui.steps.model import ExceptionInfo, Header, Step
from tui.steps.runs import RunResult, RunStatus, StepCommand

if TYPE_CHECKING:
    from tui.render.graph_files import ExportRequest, ExportResult

# What the app sends the child, one {"c": NAME, ...} line each (tui.engine.child takes them):
# the plain ones call the session's method of that name.
PlainCommand = Literal[StepCommand, "pause", "stop"]
PLAIN_COMMANDS: tuple[PlainCommand, ...] = get_args(PlainCommand)
ChildCommand = Literal[
    PlainCommand, "set_breakpoints", "export", "input", "evaluate", "set_watches", "set_conditions", "set_break_on"
]

# After stop(), a child that has not left within this long is killed (SIGKILL), never waited on.
STOP_GRACE_S = 1.0
# A live export may take this long (a 200-layer graph draws in well under 1 s).
EXPORT_TIMEOUT_S = 60.0
# Where gradstep's own package lives: the child must import this gradstep, from any cwd.
PACKAGE_ROOT = str(Path(tui.__file__).resolve().parent.parent)


def describe_exit(returncode: int | None) -> str:
    """`killed by SIGSEGV` or `exit code 0`."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def child_environment() -> dict[str, str]:
    """The app's environment, with gradstep's package findable by the child."""
    environment = dict(os.environ)
    paths = [PACKAGE_ROOT, *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environment


def child_command(*args: str, python: str | None = None) -> list[str]:
    """`python -P -m tui.engine.child ARGS`: -P keeps the app's cwd off the engine's sys.path (3.11+)."""
    flags = ["-P"] if sys.version_info >= (3, 11) else []
    return [python or sys.executable, *flags, "-m", "tui.engine.child", *args]


def _tail(log: IO[bytes]) -> str:
    """The last non-empty line the child wrote to its stderr (a traceback's last line, say)."""
    try:
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - 4096))
        lines = [line.strip() for line in log.read().decode(errors="replace").splitlines()]
    except (OSError, ValueError):
        return ""
    return next((line for line in reversed(lines) if line), "")


class ChildSession:
    """A live session in a child process; fits tui.ui.live.StepSource."""

    def __init__(
        self,
        script: str | Path,
        *,
        on_step: Callable[[Step], object],
        on_done: Callable[[RunResult], object] | None = None,
        max_steps: int = 100_000,
        breakpoints: Iterable[int] = (),
        device: str | None = None,
        python: str | None = None,
        argv: Iterable[str] = (),
        on_input: Callable[[str], object] | None = None,
        inspect: InspectOptions | None = None,
    ) -> None:
        self._on_step = on_step
        # The script called input(PROMPT): answer with answer_input(line) (None: end of input).
        # Without a handler, input() gets the end of input at once, as with stdin from /dev/null.
        self.on_input = on_input
        self._on_done = on_done
        self._done = threading.Event()
        self._result: RunResult | None = None
        self._send_lock = threading.Lock()
        self._replies: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._killer: threading.Thread | None = None
        self.steps = 0
        arguments = ["run", str(Path(script).absolute()), "--max-steps", str(max_steps)]
        if device:
            arguments += ["--device", device]
        for line in sorted({int(line) for line in breakpoints}):
            arguments += ["--break", str(line)]
        script_argv = [str(word) for word in argv]
        if inspect:
            arguments += inspect.to_args()
        steps_read, steps_write = os.pipe()
        commands_read, commands_write = os.pipe()
        self._log = tempfile.TemporaryFile(prefix="gradstep-engine-")
        try:
            self.process = subprocess.Popen(
                child_command(*arguments, "--steps-fd", str(steps_write), "--commands-fd", str(commands_read),
                              *(f"--script-arg={word}" for word in script_argv), python=python),
                stdin=subprocess.DEVNULL,  # the script's input() ends at once instead of reading our keys
                stdout=subprocess.DEVNULL,  # nothing the script or torch prints garbles the screen
                stderr=self._log,
                pass_fds=(steps_write, commands_read),
                start_new_session=True,  # its own process group: killed with everything it started
                env=child_environment(),
            )
        except OSError as error:
            for fd in (steps_read, steps_write, commands_read, commands_write):
                os.close(fd)
            raise GradstepError(f"could not start the engine: {error}") from None
        finally:
            pass
        os.close(steps_write)
        os.close(commands_read)
        self._steps: IO[bytes] = open(steps_read, "rb", buffering=1 << 16)
        self._commands: IO[bytes] | None = open(commands_write, "wb", buffering=0)
        self._decoder = StepDecoder()
        self.header = self._read_header()
        self._reader = threading.Thread(target=self._read, name="gradstep-steps", daemon=True)
        self._reader.start()

    # -- reading the child's lines -------------------------------------------------------------

    def _read_header(self) -> Header:
        """Block until the child has imported torch and compiled the script (or failed to)."""
        line = self._steps.readline()
        if not line:
            code = self.process.wait()
            why = _tail(self._log)
            self._close()
            raise GradstepError(f"the engine stopped before the script started ({describe_exit(code)})"
                                + (f": {why}" if why else ""))
        try:
            record = json.loads(line)
        except ValueError:
            self.kill()
            raise GradstepError("the engine sent something that is not a recording line") from None
        if record.get("t") == "failed":
            self.process.wait()
            self._close()
            error = str(record.get("error") or "the engine could not start")
            raise (BadInput(error) if record.get("code") == 2 else GradstepError(error))
        if record.get("format") != FORMAT_NAME:
            self.kill()
            raise GradstepError("the engine's first line is not a recording header")
        return Header.from_json(record)

    def _read(self) -> None:
        result: RunResult | None = None
        try:
            for line in self._steps:
                record = json.loads(line)
                kind = record.get("t")
                if kind == "result":
                    exception = record.get("exception")
                    result = RunResult(
                        status=cast(RunStatus, str(record["status"])),  # the child's RunResult.status
                        steps=int(record["steps"]),
                        exception=None if exception is None else ExceptionInfo.from_json(exception),
                    )
                    self._finish(result)
                elif kind == "reply":
                    future = self._replies.pop(int(record.get("id", -1)), None)
                    if future is not None:
                        future.set_result(record)
                elif kind == "input":
                    if self.on_input is None:
                        self.answer_input(None)
                    else:
                        self.on_input(str(record.get("prompt", "")))
                elif kind == "end":
                    break
                else:
                    step = self._decoder.decode(record)
                    if step is not None:
                        self.steps += 1
                        self._on_step(step)
        except (ValueError, KeyError, TypeError, LineError) as error:  # a garbled line: stop this child
            self.kill()
            failure = ExceptionInfo("EngineError", f"the engine sent a line gradstep cannot read: {error}", None)
            self._finish(RunResult("failed", self.steps, failure))
        except Exception as error:  # on_step raised: the app is going away or broken; stop the child
            self.kill()
            failure = ExceptionInfo(type(error).__name__, f"gradstep could not go on: {error}", None)
            self._finish(RunResult("failed", self.steps, failure))
        code = self._wait_for_exit()
        if result is None and not self._done.is_set():
            how = describe_exit(code)
            why = _tail(self._log)
            message = f"the script's process ended without finishing the run ({how}); the steps so far are kept"
            if why and code is not None and code > 0:
                message += f": {why}"
            kind = signal.Signals(-code).name if code is not None and code < 0 and -code in signal.valid_signals() \
                else how
            self._finish(RunResult("died", self.steps, ExceptionInfo(kind, message, None), returncode=code))
        self._fail_replies("the script's process has ended: export from the recorded step")
        self._close()

    def _wait_for_exit(self) -> int | None:
        """The child's exit status once its steps pipe has closed (it leaves right after)."""
        try:
            return self.process.wait(STOP_GRACE_S * 2)
        except subprocess.TimeoutExpired:  # closed its pipe but lingers: it has nothing more to say
            self.kill()
            try:
                return self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                return None

    def _finish(self, result: RunResult) -> None:
        if self._done.is_set():
            return
        self._result = result
        self._done.set()
        if self._on_done is not None:
            self._on_done(result)

    def _fail_replies(self, why: str) -> None:
        for future in list(self._replies.values()):
            if not future.done():
                future.set_result({"error": why, "error_type": "BadInput"})
        self._replies.clear()

    def _close(self) -> None:
        for file in (self._steps, self._log):
            try:
                file.close()
            except OSError:
                pass
        self._close_commands()

    def _close_commands(self) -> None:
        with self._send_lock:
            if self._commands is not None:
                try:
                    self._commands.close()
                except OSError:
                    pass
                self._commands = None

    # -- commands (any thread, return at once) -------------------------------------------------

    def _send(self, name: ChildCommand, **fields: Any) -> None:
        data = dumps({"c": name, **fields}).encode() + b"\n"
        with self._send_lock:
            if self._commands is None:
                return
            try:
                self._commands.write(data)
            except (BrokenPipeError, OSError, ValueError):  # the child is gone: its reader says how
                pass

    def step_into(self) -> None:
        self._send("step_into")

    def step_over(self) -> None:
        self._send("step_over")

    def step_out(self) -> None:
        self._send("step_out")

    def resume(self) -> None:
        self._send("resume")

    def pause(self) -> None:
        self._send("pause")

    def set_breakpoints(self, lines: Iterable[int]) -> None:
        self._send("set_breakpoints", lines=sorted({int(line) for line in lines}))

    def answer_input(self, line: str | None) -> None:
        """The learner's line for the script's pending input() (None: end of input, EOFError)."""
        if line is None:
            self._send("input", eof=True)
        else:
            self._send("input", text=line)

    def set_watches(self, watches: Iterable[str]) -> None:
        self._send("set_watches", exprs=list(watches))

    def set_conditions(self, conditions: Iterable[tuple[int, str]]) -> None:
        self._send("set_conditions", conditions=[[int(line), str(text)] for line, text in conditions])

    def set_break_on(self, rules: Iterable[BreakOn]) -> None:
        self._send("set_break_on", rules=[rule.text for rule in rules])

    def evaluate(self, source: str, timeout: float = EXPORT_TIMEOUT_S) -> Evaluation:
        """Evaluate an expression in the paused script's frame, in the child (blocks: call off the UI thread)."""
        if self._done.is_set():
            raise BadInput("the script has ended: nothing to evaluate in")
        ident = next(self._ids)
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._replies[ident] = future
        self._send("evaluate", id=ident, expr=source)
        try:
            reply = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            self._replies.pop(ident, None)
            raise GradstepError("the expression took too long (it still runs in the script)") from None
        if "error" in reply:
            error = str(reply["error"])
            raise BadInput(error) if reply.get("error_type") == "BadInput" else GradstepError(error)
        return Evaluation.from_json(reply["evaluation"])

    def stop(self) -> None:
        """End the run; a child that has not left within STOP_GRACE_S is killed. Never waits."""
        if self.process.poll() is not None:
            return
        self._send("stop")
        self._close_commands()  # the end of the commands: the child leaves even if the stop is lost
        if self._killer is None:
            self._killer = threading.Thread(target=self._kill_after, name="gradstep-reaper", daemon=True)
            self._killer.start()

    def _kill_after(self) -> None:
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the child and everything it started (its own process group)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                self.process.kill()
            except OSError:
                pass

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """The result once the run has ended (None if it has not within the timeout)."""
        self._done.wait(timeout)
        return self._result

    @property
    def result(self) -> RunResult | None:
        return self._result

    def export_live(self, request: ExportRequest) -> ExportResult:
        """torchviz on the paused script's live tensors, drawn in the child; returns an ExportResult."""
        from tui.errors import GraphvizMissing
        from tui.render.graph_files import (
            ExportResult,  # the app already has it: x opened the dialog
        )

        if self._done.is_set():
            raise BadInput("the script has ended: export from the recorded step")
        ident = next(self._ids)
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._replies[ident] = future
        output = os.path.abspath(request.output)  # the app's cwd: the script may have moved its own
        self._send("export", id=ident, request={
            "output": output, "format": request.format, "tensor": request.tensor, "values": request.values,
            "show_attrs": request.show_attrs, "show_saved": request.show_saved,
        })
        try:
            reply = future.result(timeout=EXPORT_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            self._replies.pop(ident, None)
            raise GradstepError("the live export took too long") from None
        if "error" in reply:
            error = str(reply["error"])
            kind = reply.get("error_type")
            if kind == "GraphvizMissing":
                raise GraphvizMissing(error)
            if kind in ("BadInput", "ScriptCompileError", "DeviceUnavailable"):
                raise BadInput(error)
            raise GradstepError(error)
        return ExportResult(tuple(Path(path) for path in reply.get("paths", ())), tuple(reply.get("notes", ())))


def list_devices(timeout: float = 60.0) -> list[dict[str, Any]]:
    """Ask a child for the devices (torch may take seconds to load): dicts of name, available, reason, details."""
    try:
        done = subprocess.run(
            child_command("devices"), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
            env=child_environment(), text=True,
        )
    except subprocess.TimeoutExpired:
        raise GradstepError("listing the devices took too long") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise GradstepError(lines[-1] if lines else f"listing the devices failed ({describe_exit(done.returncode)})")
    return list(json.loads(done.stdout))


def check_device(device: str, timeout: float = 60.0) -> None:
    """BadInput (exit 2) when the device cannot be used; asks a child, so this process stays torch-free."""
    done = subprocess.run(
        child_command("check-device", device), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
        env=child_environment(), text=True,
    )
    if done.returncode == 2:
        from tui.errors import DeviceUnavailable

        raise DeviceUnavailable(done.stdout.strip() or f"device {device} is unavailable")
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise GradstepError(lines[-1] if lines else f"checking the device failed ({describe_exit(done.returncode)})")
