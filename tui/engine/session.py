"""A Session runs one script in a worker thread and reports its steps.

Modes:
- "interactive": starts paused at the first line; each command (step_into, step_over,
  step_out, resume) runs to the next stop and emits the step it stops at.
- "record": emits every step (step-into everywhere, with every backward, accumulate,
  optimizer and reset sub-step) without pausing.
- "breaks-only": emits steps only at breakpoints and at the end; in between the
  script runs untraced, at native speed.

A run always ends with a step of kind "end", "exception" or "limit". Commands are
thread-safe and return at once; `on_step` and `on_done` are called from the
script's thread (or an autograd thread during backward), never from the caller's.
"""

from __future__ import annotations

import ast
import concurrent.futures
import platform
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Literal, get_args

import torch  # the session runs PyTorch scripts; the UI only ever sees its Steps

from tui import __version__
from tui.engine.devices import resolve_device
from tui.engine.loops import LoopCounters, LoopTable, instrument
from tui.engine.breakpoints import arm
from tui.engine.runner import Runner, RunSpec
from tui.errors import BadInput, ScriptCompileError
from tui.steps.inspect import BreakOn, Evaluation, InspectOptions
from tui.steps.source import null_byte_line, read_source
from tui.steps.lines import FORMAT_VERSION
from tui.steps.model import ExceptionInfo, Header, Step
from tui.steps.runs import RunResult, StepCommand

if TYPE_CHECKING:
    from tui.render.graph_files import ExportRequest, ExportResult

# How long a live export may take before the caller gives up (a 200-layer graph draws in well under 1 s).
EXPORT_TIMEOUT_S = 60.0

Mode = Literal["interactive", "record", "breaks-only"]
MODES: tuple[Mode, ...] = get_args(Mode)
# What the learner's keys ask of an interactive run (the child's reader takes them off the pipe).
Command = Literal[StepCommand, "stop"]
COMMANDS: tuple[Command, ...] = get_args(Command)


def compile_script(path: Path, source: str, break_lines: Iterable[int] = ()) -> tuple[ast.Module, CodeType]:
    """Parse and compile the script (instrumented to count loop iterations)."""
    filename = str(path.resolve())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings would land on the app's terminal
            tree = ast.parse(source, filename=filename)
            compile(tree, filename, "exec", dont_inherit=True)  # the plain script's own errors first
            code = compile(instrument(tree, break_lines), filename, "exec", dont_inherit=True)
    except SyntaxError as error:  # null bytes give no line number on some Pythons: say where they are
        line = error.lineno if error.lineno is not None else null_byte_line(source)
        raise ScriptCompileError(f"SyntaxError at line {line}: {error.msg}") from None
    except ValueError as error:  # e.g. null bytes in the source
        raise ScriptCompileError(f"SyntaxError at line {null_byte_line(source)}: {error}") from None
    return tree, code


class Session:
    """Runs a script under the tracer; see the module docstring for the modes."""

    def __init__(
        self,
        script: str | Path,
        *,
        on_step: Callable[[Step], object],
        on_done: Callable[[RunResult], object] | None = None,
        mode: Mode = "interactive",
        max_steps: int = 100_000,
        breakpoints: Iterable[int] = (),
        device: str | None = None,
        argv: Iterable[str] = (),
        read_line: Callable[[str], str | None] | None = None,
        thin_long_runs: bool = False,
        inspect: InspectOptions | None = None,
    ) -> None:
        """`thin_long_runs` (record mode): past half of `max_steps`, keep fewer steps (tui/engine/budget.py)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        path = Path(script)
        source = read_source(path)  # a BOM or a coding line read as Python reads them
        self._inspect = inspect or InspectOptions()
        # A conditional breakpoint is a breakpoint too (its condition is checked when the line is reached).
        self._breakpoints = frozenset(int(line) for line in breakpoints) | {line for line, _ in self._inspect.conditions}
        tree, code = compile_script(path, source, self._breakpoints if mode == "breaks-only" else ())
        device_name, gpu_name = resolve_device(device)
        self._spec = RunSpec(
            path=path,
            filename=str(path.resolve()),
            code=code,
            mode=mode,
            max_steps=max_steps,
            device=device_name,
            source_lines=tuple(source.splitlines()),
            argv=tuple(str(word) for word in argv),
            read_line=read_line,
            thin_long_runs=thin_long_runs,
        )
        self._table = LoopTable(tree)
        self.header = Header(
            format_version=FORMAT_VERSION,
            gradstep=__version__,
            torch=torch.__version__,
            python=platform.python_version(),
            device=device_name,
            device_name=gpu_name,
            script=str(path.resolve()),
            source=source,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            max_steps=max_steps,
            breakpoints=tuple(sorted(self._breakpoints)),
        )
        self._on_step = on_step
        self._on_done = on_done
        self._commands: deque[Command] = deque()
        self._exports: deque[tuple[ExportRequest, concurrent.futures.Future[ExportResult]]] = deque()
        self._evaluations: deque[tuple[str, concurrent.futures.Future[Evaluation]]] = deque()
        self._condition = threading.Condition()
        self._waiting = False
        self._stop = False
        self._started = False
        self._done = threading.Event()
        self._result: RunResult | None = None
        self._runner: Runner | None = None
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> Mode:
        return self._spec.mode

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the script in a new worker thread."""
        self._claim()
        self._thread = threading.Thread(target=self._run, name="gradstep-script", daemon=True)
        self._thread.start()

    def run(self) -> RunResult:
        """Run the script in the calling thread, to its end (record and breaks-only modes)."""
        self._claim()
        return self._run()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """The result once the run has ended (None if it has not within the timeout)."""
        self._done.wait(timeout)
        return self._result

    def _claim(self) -> None:
        if self._started:
            raise RuntimeError("a Session runs once: create a new one to run again")
        self._started = True

    def _run(self) -> RunResult:
        counters = LoopCounters(self._table, self._spec.filename)
        if self._spec.mode == "breaks-only":
            counters.header_breaks = self._breakpoints
        runner = Runner(
            self._spec, counters, self._on_step, self._next_command, lambda: self._stop, self._breakpoints
        )
        runner.inspect.configure(self._inspect)
        arm(runner, self._inspect.break_on)
        self._runner = runner
        try:
            status, exception = runner.run()
        except BaseException as error:  # on_step or the engine itself failed, not the script
            failure = ExceptionInfo(type=type(error).__name__, message=f"gradstep could not go on: {error}", line=None)
            self._result = RunResult(status="failed", steps=runner.count, exception=failure)
            self._done.set()
            if self._on_done is not None:
                self._on_done(self._result)
            if threading.current_thread() is not self._thread:
                raise  # run(): the caller (the record command) reports it in one line
            return self._result  # the app's thread: on_done has told the app; no traceback over the UI
        finally:
            self._runner = None
        result = RunResult(status=status, steps=runner.count, exception=exception)
        self._result = result
        self._done.set()
        if self._on_done is not None:
            self._on_done(result)
        return result

    def _next_command(self) -> Command:
        """In the script's thread, at a stop: wait for the learner's next command."""
        with self._condition:
            self._waiting = True
            runner = self._runner
            if runner is not None:
                runner.tracer.pause_requested = False
            while not self._commands:
                if self._exports:
                    self._serve_export(*self._exports.popleft())
                    continue
                if self._evaluations:
                    self._serve_evaluation(*self._evaluations.popleft())
                    continue
                self._condition.wait()
            self._waiting = False
            return self._commands.popleft()

    def _serve_export(self, request: ExportRequest, future: concurrent.futures.Future[ExportResult]) -> None:
        """In the script's thread, while paused: draw the live tensors with torchviz."""
        from tui.engine.live_export import (
            export_named,  # deferred: torchviz only when exporting
        )

        runner = self._runner
        self._condition.release()  # drawing takes time: commands may queue meanwhile
        try:
            if runner is None:
                raise BadInput("the script has ended: export from the recorded step")
            future.set_result(export_named(runner.paused_tensors(), request))
        except BaseException as error:  # the caller sees it; the script's thread carries on waiting
            future.set_exception(error)
        finally:
            self._condition.acquire()

    def _serve_evaluation(self, source: str, future: concurrent.futures.Future[Evaluation]) -> None:
        """In the script's thread, while paused: evaluate the learner's expression in its frame."""
        runner = self._runner
        self._condition.release()
        try:
            if runner is None:
                raise BadInput("the script has ended: nothing to evaluate in")
            frame = runner.paused_frame or runner.inspect.event_frame
            future.set_result(runner.inspect.evaluate(source, frame, runner.maker.globals))  # the module namespace
        except BaseException as error:  # the caller sees it; the script's thread carries on waiting
            future.set_exception(error)
        finally:
            self._condition.acquire()

    def evaluate(self, source: str, timeout: float = EXPORT_TIMEOUT_S) -> Evaluation:
        """Evaluate an expression (or run a statement) in the paused script's frame (any thread; blocks)."""
        future: concurrent.futures.Future[Evaluation] = concurrent.futures.Future()
        with self._condition:
            if not self._waiting or self._done.is_set():
                raise BadInput("the script is running: pause it to evaluate")
            self._evaluations.append((source, future))
            self._condition.notify_all()
        return future.result(timeout=timeout)

    def set_watches(self, watches: Iterable[str]) -> None:
        """Replace the watches: evaluated at every step from the next one on."""
        self._inspect = InspectOptions(tuple(watches), self._inspect.conditions, self._inspect.break_on)
        runner = self._runner
        if runner is not None:
            runner.inspect.watches = self._inspect.watches

    def set_conditions(self, conditions: Iterable[tuple[int, str]]) -> None:
        """Replace the breakpoint conditions (a line without one stops whenever it is reached)."""
        self._inspect = InspectOptions(self._inspect.watches, tuple(conditions), self._inspect.break_on)
        runner = self._runner
        if runner is not None:
            runner.inspect.conditions = dict(self._inspect.conditions)

    def set_break_on(self, rules: Iterable[BreakOn]) -> None:
        """Replace the break-on rules (interactive runs): each holds from the script's next line on.

        `nan` too: the script's thread pushes its mode before that line, or pops it when `nan` is gone.
        """
        chosen = tuple(rules)
        self._inspect = InspectOptions(self._inspect.watches, self._inspect.conditions, chosen)
        runner = self._runner
        if runner is not None and self._spec.mode == "interactive":
            arm(runner, chosen)

    def export_live(self, request: ExportRequest) -> ExportResult:
        """Draw a graph from the paused script's live tensors with torchviz (any thread; blocks until drawn)."""
        future: concurrent.futures.Future[ExportResult] = concurrent.futures.Future()
        with self._condition:
            if not self._waiting or self._done.is_set():
                raise BadInput("the script is running: pause it to export its live tensors")
            self._exports.append((request, future))
            self._condition.notify_all()
        return future.result(timeout=EXPORT_TIMEOUT_S)

    # -- commands (thread-safe, return at once) ------------------------------------------------

    def _command(self, command: Command) -> None:
        with self._condition:
            if self._stop or self._done.is_set():
                return
            self._commands.append(command)
            self._condition.notify_all()

    def step_into(self) -> None:
        """Run to the next line of the script, into its functions and node by node into backward."""
        self._command("step_into")

    def step_over(self) -> None:
        """Run to the next line of the current function (or out of a backward / optimizer step)."""
        self._command("step_over")

    def step_out(self) -> None:
        """Run until the current function of the script returns."""
        self._command("step_out")

    def resume(self) -> None:
        """Run to the next breakpoint, a pause request or the end."""
        self._command("resume")

    def pause(self) -> None:
        """Stop a running script at its next line (no-op when it is already paused)."""
        with self._condition:
            runner = self._runner
            if self._waiting or runner is None or self._done.is_set() or self._spec.mode != "interactive":
                return
            if self._commands and "stop" not in self._commands:
                # A command the script has yet to take (it is between a step and its next wait):
                # the caller counts on one step for it, so make it stop at the very next line.
                self._commands.clear()
                self._commands.append("step_into")
        runner.tracer.request_pause()

    def stop(self) -> None:
        """End the run at the script's next line; the last step says it was stopped."""
        with self._condition:
            if self._done.is_set():
                return
            self._stop = True
            self._commands.clear()
            self._commands.append("stop")
            self._condition.notify_all()
            waiting = self._waiting
            runner = self._runner
        if not waiting and runner is not None:
            runner.tracer.request_pause()

    def set_breakpoints(self, lines: Iterable[int]) -> None:
        """Replace the breakpoints (interactive runs; breaks-only runs fix theirs at start)."""
        self._breakpoints = frozenset(int(line) for line in lines)
        runner = self._runner
        if runner is not None and self._spec.mode == "interactive":
            runner.tracer.set_breakpoints(self._breakpoints)

