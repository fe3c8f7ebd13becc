"""One run of a script: sets the process up as `python script.py` would, runs it under the
tracer and the probes, and turns every moment worth showing into an immutable Step.

The Session (session.py) owns the thread and the learner's commands; this module owns
what happens inside the script's thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import torch  # the script's tensors are read here, in the thread that runs it

from tui.engine import output
from tui.engine.accumulation import Accumulation
from tui.engine.budget import StepBudget
from tui.engine.environment import script_environment
from tui.engine.breakpoints import BreakRules
from tui.engine.evaluate import Inspector
from tui.engine.graph import GraphCapture
from tui.engine.loops import BREAK_NAME, FOR_NAME, WHILE_NAME, LoopCounters
from tui.engine.probes import Probes
from tui.engine.script_input import LineReader, script_input
from tui.engine.snapshot import ViewMaker, frame_namespaces, module_watch, unprofiled
from tui.engine.stepmaker import (
    Ended,
    Event,
    GradsReset,
    LimitReached,
    LineReached,
    Raised,
    RanUntraced,
    StepMaker,
    sequence_nr,
)
from tui.engine.tracer import Tracer
from tui.errors import BadInput
from tui.steps.model import ExceptionInfo, FrameInfo, Graph, Phase, Step
from tui.steps.runs import RunStatus

if TYPE_CHECKING:
    from tui.engine.session import Command, Mode



class _Forks:
    """How many times this process is a fork away from where it started (os.getpid() is a call;
    `_forked` is asked at every probe event)."""

    count = 0

    @classmethod
    def after_in_child(cls) -> None:
        cls.count += 1


os.register_at_fork(after_in_child=_Forks.after_in_child)

class CallbackFailed(BaseException):
    """on_step raised (a full disk, say): carried out of the script untouched, then re-raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class StopScript(BaseException):
    """Raised in the script's thread to end it: the learner stopped it, or the step cap."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What to run and how: fixed when the session is created."""

    path: Path
    filename: str
    code: CodeType
    mode: Mode
    max_steps: int
    device: str
    source_lines: tuple[str, ...]
    argv: tuple[str, ...] = ()  # the script's sys.argv[1:]
    read_line: LineReader | None = None  # where the script's input() reads (None: Python's own input())
    thin_long_runs: bool = False  # record: past half the cap keep fewer steps (budget.py), not stop


class Runner:
    """Runs the script in the calling thread and emits its steps."""

    def __init__(
        self,
        spec: RunSpec,
        counters: LoopCounters,
        on_step: Callable[[Step], object],
        next_command: Callable[[], Command],
        stop_requested: Callable[[], bool],
        breakpoints: frozenset[int],
    ) -> None:
        self.spec = spec
        self.filename = spec.filename
        self.counters = counters
        self._forks = _Forks.count
        self._on_step = on_step
        self._next_command = next_command
        self._stop_requested = stop_requested
        self.output = output.OutputBuffer()
        self.maker = StepMaker(spec.filename, counters, self.output, track_resets=spec.mode != "breaks-only")
        self.budget = StepBudget(spec.max_steps, thin=spec.thin_long_runs and spec.mode == "record")
        self.tracer = Tracer(spec.filename, self._at_line)
        self.inspect = Inspector(self.views)  # evaluate hook: watches, conditions (tui.engine.evaluate)
        self.tracer.break_test = self.inspect.condition_stops
        self.break_rules = BreakRules(spec.filename)  # evaluate hook: --break-on (tui.engine.breakpoints)
        # breaks-only runs hit their breakpoints through the instrumented code, untraced.
        self.tracer.breakpoints = breakpoints if spec.mode != "breaks-only" else frozenset()
        self.probes = Probes(self, light=spec.mode == "breaks-only")
        self.maker.backward_running = lambda: self.probes.backward_running
        self.count = 0
        self.command = "step"  # what the learner asked last: step | next | out | continue
        # The frame an interactive run is paused in at a line (None while running or mid-event).
        self.paused_frame: FrameType | None = None
        # Set by a resume (interactive): where the untraced stretch began and the loop counts then.
        self._untraced_from: tuple[int | None, dict[tuple[int, int], tuple[list[int], int]]] | None = None
        self._in_nan_stop = False  # paused where the `nan` rule fired, inside an operation
        self._event_note: str | None = None  # why a `node:` rule stopped at the sub-step being made

    # The probes' Host reads these three through the step maker that owns them.
    @property
    def views(self) -> ViewMaker:
        return self.maker.views

    @property
    def graphs(self) -> GraphCapture:
        return self.maker.graphs

    @property
    def accumulation(self) -> Accumulation:
        return self.maker.accumulation

    # -- running ----------------------------------------------------------------------------

    def run(self) -> tuple[RunStatus, ExceptionInfo | None]:
        """Run the script to its end; returns (status, exception)."""
        spec = self.spec
        environment = script_environment(
            spec.path, spec.filename, spec.device, self.output, traced=self._traced(), argv=spec.argv
        )
        self.probes.install()
        module_watch.install()
        try:
            with environment as module, script_input(self.output, spec.read_line), _heap_frozen():
                namespace = module.__dict__
                namespace[FOR_NAME] = self.counters.start_for
                namespace[WHILE_NAME] = self.counters.tick_while
                namespace[BREAK_NAME] = self._break_hit
                self.counters.on_header_break = self._header_break_hit
                self.maker.globals = namespace
                return self._execute(namespace)
        except CallbackFailed as failed:
            raise failed.error from None
        finally:
            module_watch.uninstall()
            self.probes.uninstall()
            self.counters.clear()
            self.maker.clear()

    def _traced(self) -> bool:
        """Whether the script runs under the trace function: all but breaks-only runs with no line rule armed."""
        return self.spec.mode != "breaks-only" or self.break_rules.line_rules

    def _execute(self, namespace: dict[str, Any]) -> tuple[RunStatus, ExceptionInfo | None]:
        self.sync_nan()  # evaluate hook: pushes the NaN mode only if `nan` is armed
        try:
            return self._execute_script(namespace)
        finally:
            self.break_rules.pop_nan()

    def _execute_script(self, namespace: dict[str, Any]) -> tuple[RunStatus, ExceptionInfo | None]:
        try:
            if not self._traced():
                self.tracer.start_untraced()
                try:
                    exec(self.spec.code, namespace)
                finally:
                    self.tracer.end_untraced()
            else:
                self.tracer.run_code(self.spec.code, namespace)
        except CallbackFailed:
            raise
        except StopScript as stop:
            if stop.reason == "limit":
                return "limit", None
            # A stop names itself; `record` stops with "interrupted by SIGTERM: ..." on a signal.
            self._emit(Ended("stopped before the end of the script" if stop.reason == "stopped" else stop.reason), None)
            return "stopped", None
        except SystemExit as exit_request:
            if exit_request.code in (None, 0):
                self._emit(Ended("the script called sys.exit()"), None)
                return "finished", None
            return self._raised(exit_request)  # a failing exit status, as the shell would see it
        except BaseException as error:  # the script's own exception: shown as a step
            return self._raised(error)
        self._reset_steps(None)
        self._emit(Ended(), None)
        return "finished", None

    def _raised(self, error: BaseException) -> tuple[RunStatus, ExceptionInfo | None]:
        info, frame = self._exception_info(error)
        self._emit(Raised(info), frame, line=info.line)
        return "raised", info

    # -- tracer and instrumented-script callbacks -------------------------------------------

    def _forked(self) -> bool:
        """Whether this is a child process the script forked (a DataLoader worker): it records nothing.

        The tracer's at-fork hook already stops tracing there; `_emit` and `capturing` are the
        two ways a step can still start in the child (compiled-in breakpoints, probes).
        """
        return _Forks.count != self._forks

    def _at_line(self, frame: FrameType) -> None:
        """The tracer stopped before a line of the script."""
        self.maker.settled = False  # the script's own code ran: its names may hold other tensors
        if self._stop_requested():
            raise StopScript("stopped")
        if self.break_rules.nan_pending:  # evaluate hook: `nan` armed or disarmed since the last line
            self.sync_nan()
        if self.spec.mode == "breaks-only":  # a rule fired (its reason is noted), or the first line: carry on
            if self.inspect.noted:
                self._emit(LineReached(), frame)
            self.tracer.set_continue()
            return
        if not self._reset_steps(frame):
            return  # the learner continued from the reset sub-step
        if self.budget.samples(self.count) and not self.budget.keeps_line(
            self.count, self.counters.position(frame)[1]
        ):
            return  # a long record run past its budget: this iteration's lines are not kept
        if self.break_rules.rules:  # evaluate hook: a step made anyway brings the rules' view up to date
            self.rule_stops(frame)
        self.inspect.stepped_onto(frame, self.tracer.breakpoints)  # evaluate hook: says if a condition holds
        self._emit(LineReached(), frame)
        if self.spec.mode == "interactive":
            self._pause_at(frame)

    def _pause_at(self, frame: FrameType) -> None:
        """Paused at a line (interactive): wait for the learner's command and follow it."""
        self.paused_frame = frame
        try:
            command = self._next_command()
        finally:
            self.paused_frame = None
        if self.break_rules.nan_pending:  # evaluate hook: ctrl+b nan while paused here
            self.sync_nan()
        self._obey(command, frame)

    def _obey(self, command: str, frame: FrameType) -> None:
        if command == "stop":
            raise StopScript("stopped")
        if command == "step_over":
            self.command = "next"
            self.tracer.step_over(frame)
        elif command == "step_out":
            self.command = "out"
            self.tracer.step_out(frame)
        elif command == "resume":
            self._resume()
        else:
            self.command = "step"
            self.tracer.step_into()

    def _resume(self) -> None:
        """Run to a breakpoint, a pause or the end without recording: the next stop says so first."""
        self.command = "continue"
        self._untraced_from = (self.maker.last_line, self.counters.snapshot())
        self.tracer.set_continue()

    def _reset_steps(self, frame: FrameType | None) -> bool:
        """A reset step for each `.grad = None` / `.grad.zero_()` the last line did; False if continued from it."""
        maker = self.maker
        if maker.last_event is not None or not self.capturing():
            return True  # a backward, optimizer.step() or zero_grad() ran meanwhile: its own steps said so
        with unprofiled:
            found = maker.resets.found(maker.previous_views, lambda tensor: maker.accumulation.set(tensor, 0))
        for event in found:
            if not self.event_step(GradsReset(event), frame, line=maker.last_line) and self.command == "continue":
                return False
        return True

    # -- evaluate hooks: break-on rules (tui.engine.breakpoints) ------------------------------

    def watch_lines(self) -> None:
        """Have the tracer look at every line only while a line rule is armed or the `nan` mode is yet to change."""
        rules = self.break_rules
        self.tracer.line_watch = self.line_check if rules.line_rules or rules.nan_pending else None

    def sync_nan(self) -> None:
        """In the script's thread, between lines: push or pop the `nan` mode as the rules now say."""
        if self._in_nan_stop:  # paused inside the mode's own dispatch: wait for the next line
            return
        self.break_rules.sync_nan(self.stop_inside)
        self.watch_lines()

    def line_check(self, frame: FrameType) -> bool:
        """The tracer's look at every line while rules are armed: the `nan` mode, then the line rules."""
        if self.break_rules.nan_pending:
            self.sync_nan()
            if self.tracer.line_watch is None and self.command == "continue":  # nothing to look at: native speed
                self.tracer.set_continue()
        return self.break_rules.line_rules and self.rule_stops(frame)

    def rule_stops(self, frame: FrameType) -> bool:
        """Before a traced line: whether an armed rule fired (its reason goes on the step)."""
        if self.inspect.busy:
            return False
        reason = self.break_rules.check(frame)
        if reason is not None:
            self.inspect.note(reason)
        return reason is not None

    def stop_inside(self, frame: FrameType, reason: str) -> None:
        """The `nan` rule fired inside an operation of `frame`'s line: stop right there."""
        if self.inspect.busy or self._forked():
            return
        self.inspect.note(reason)
        if self.spec.mode == "record":  # every step is kept anyway: the next line step says why
            return
        self._emit(LineReached(), frame)
        if self.spec.mode == "interactive":
            self.tracer._retrace()  # a native-speed continue: trace again, so the next command can stop
            self._in_nan_stop = True  # paused inside the mode's own dispatch: it cannot be popped here
            try:
                self._pause_at(frame)
            finally:
                self._in_nan_stop = False

    def _break_hit(self, line: int) -> None:
        """A breakpoint line of a breaks-only run is about to run."""
        if self._stop_requested():
            raise StopScript("stopped")
        if not self.inspect.condition_stops(sys._getframe(1), line):  # evaluate hook
            return
        self._emit(LineReached(), sys._getframe(1), line=line)

    def _header_break_hit(self, frame: FrameType, line: int, iteration: int) -> None:
        if self._stop_requested():
            raise StopScript("stopped")
        if not self.inspect.condition_stops(frame, line):  # evaluate hook
            return
        self._emit(LineReached(), frame, line=line, position=(line, iteration))

    # -- the probes' host interface -----------------------------------------------------------

    def paused_tensors(self) -> dict[str, Any]:
        """The paused script's named tensors, live (call only from the script's thread while paused)."""
        if self.paused_frame is None:
            raise BadInput("the script is not paused at a line: pause it to export its live tensors")
        named = self.maker.named_at(self.paused_frame)
        return {name: tensor for name, tensor, _ in named.tensors}

    def capturing(self) -> bool:
        """Whether backward / optimizer / reset events become sub-steps now."""
        if self._forked() or self.inspect.busy:  # evaluate hook: an expression's backward() makes no steps
            return False
        if self.spec.mode == "record":
            return self.budget.keeps_sub_steps(self.count)
        return self.spec.mode == "interactive" and self.command == "step"

    def event_step(
        self, event: Event, frame: FrameType | None, line: int | None = None, *, stop_note: str | None = None
    ) -> bool:
        """Emit a sub-step (at `line`, else the frame's); False when the learner skipped the rest of this event.

        `stop_note`: a `node:` rule stops here, whether or not sub-steps are being made (continue,
        breaks-only, a thinned record), and the step says why.
        """
        forced = stop_note is not None and not self._forked() and not self.inspect.busy
        if not self.capturing() and not forced:
            return False
        self._event_note = stop_note
        try:
            self._emit(event, frame, line=line)
        finally:
            self._event_note = None
        if self.spec.mode != "interactive":
            return self.capturing()
        self.inspect.event_frame = frame  # evaluate hook: `:` at a sub-step evaluates here
        try:
            command = self._next_command()
        finally:
            self.inspect.event_frame = None
            self.maker.settled = False  # the learner may have evaluated code while it waited
        if command == "stop":
            raise StopScript("stopped")
        if command == "step_into":
            self.command = "step"  # after a rule's stop in a continue, too: the next sub-steps show
            self.tracer.step_into()
            return True
        if command == "resume":
            self._resume()
        elif frame is not None:
            self.command = "next"
            self.tracer.step_over(frame)
        return False

    def stop_nodes(self) -> frozenset[str]:
        """The backward node classes an armed `node:` rule stops at (evaluate hook)."""
        return self.break_rules.node_classes if self.break_rules.rules else frozenset()

    def event_graph(self, frame: FrameType | None, extra_roots: Sequence[torch.Tensor]) -> Graph | None:
        """The graph before a backward pass: the named tensors' and the pass's own roots."""
        with unprofiled:
            named = self.maker.named_at(frame)
            roots: list[tuple[str | None, torch.Tensor]] = [(name, tensor) for name, tensor, _ in named.tensors]
            roots.extend((None, tensor) for tensor in extra_roots)
            latest = {id(tensor): self.maker.latest_view(name) for name, tensor, _ in named.tensors}
            with self.views.sharing_storage():  # saved tensors unpack as new objects of known storages
                return self.graphs.capture(
                    roots, named.name_of(), lambda tensor: latest.get(id(tensor)) or self.views.view(tensor)
                )

    def param_names(self, frame: FrameType | None) -> dict[int, str]:
        settled = self.maker.settled_names(frame)  # an AccumulateGrad mid-backward: the last step's names
        if settled is not None:
            return settled
        return self.maker.named_at(frame).name_of()

    def name_in_script(self, obj: Any, frame: FrameType | None) -> str:
        for namespace in reversed(frame_namespaces(frame, self.maker.globals)):
            for name, value in list(namespace.items()):
                if value is obj and not name.startswith("__"):
                    return name
        return type(obj).__name__

    def tracked_leaves(self) -> list[torch.Tensor]:
        return self.maker.leaves

    def noted(self, phase: Phase, roots: Sequence[torch.Tensor] = ()) -> None:
        """A backward / optimizer.step() / zero_grad() ran (whether or not it became sub-steps)."""
        self.maker.settled = False  # its first sub-step follows the script's own code
        self.maker.last_event = phase
        for tensor in roots:
            node = tensor.grad_fn
            if node is not None:
                self.maker.backward_mark = max(self.maker.backward_mark, sequence_nr(node))

    def route_output(self) -> None:
        """Autograd may run hooks on its own threads: their writes belong to this run too."""
        output.route(threading.get_ident(), self.output)

    # -- making steps -------------------------------------------------------------------------

    def _emit(
        self,
        event: Event,
        frame: FrameType | None,
        *,
        line: int | None = None,
        position: tuple[int | None, int | None] | None = None,
    ) -> None:
        """Make and publish the step for an event; the step cap ends the run with a limit step first."""
        if self._forked():
            return
        final = isinstance(event, (Ended, Raised))
        if not final and self._stop_requested():
            raise StopScript("stopped")
        with unprofiled:  # gradstep's reading stays out of the script's own profiler table
            if self._untraced_from is not None:
                self._publish(self._untraced_step(frame, line, position))
            if self.count >= self.spec.max_steps and not final:
                self._publish(self._make(LimitReached(self._limit_message()), frame, line, position))
                raise StopScript("limit")
            if isinstance(event, Ended) and self.budget.message() is not None:
                event = Ended(". ".join(part for part in (event.message, self.budget.message()) if part))
            self._publish(self._make(event, frame, line, position))

    def _make(
        self,
        event: Event,
        frame: FrameType | None,
        line: int | None,
        position: tuple[int | None, int | None] | None,
    ) -> Step:
        try:
            step = self.maker.make(self.count, event, frame, line, position)
        except (RecursionError, MemoryError):
            raise  # the script's recursion or memory ran out while gradstep read it: the script's exception
        except Exception as error:  # gradstep's own failure, inside a hook the script's call ran: not the script's
            raise CallbackFailed(error) from None
        # evaluate hook: why a rule or condition stopped here, and the watches at this step.
        note = None if step.message else self._event_note or self.inspect.note_for(step.kind)
        script_frame = frame
        while script_frame is not None and script_frame.f_code.co_filename != self.spec.filename:
            script_frame = script_frame.f_back
        watches = self.inspect.watch_values(script_frame, self.maker.globals)
        if watches:  # a watch is the learner's code, run at every step: the next one looks again
            self.maker.settled = False
        if note or watches:
            step = dataclasses.replace(step, message=step.message or note, watches=tuple(watches))
        self.budget.kept(step.index, step.line, step.iteration)
        return step

    def _publish(self, step: Step) -> None:
        self.count += 1
        try:
            self._on_step(step)
        except StopScript:  # on_step ends the run (record's signal handler): a stop, as in the script
            raise
        except BaseException as error:  # not the script's: must not become its exception step
            raise CallbackFailed(error) from None

    def _untraced_step(
        self, frame: FrameType | None, line: int | None, position: tuple[int | None, int | None] | None
    ) -> Step:
        """The one step standing for what a resume ran unrecorded, made at the stop that ended it."""
        assert self._untraced_from is not None
        start, counts = self._untraced_from
        self._untraced_from = None
        step = self._make(RanUntraced(), frame, line, position)
        message = untraced_message(start, step.line, self.counters.advanced_since(counts))
        return dataclasses.replace(step, message=message)

    def _limit_message(self) -> str:
        limit = f"step limit reached: {self.spec.max_steps} steps (raise it with --max-steps)"
        kept = self.budget.message()
        return limit if kept is None else f"{limit}. {kept}"

    def _exception_info(self, error: BaseException) -> tuple[ExceptionInfo, FrameType | None]:
        frames: list[FrameInfo] = []
        innermost: FrameType | None = None
        trace: TracebackType | None = error.__traceback__
        while trace is not None:
            frame = trace.tb_frame
            if frame.f_code.co_filename == self.filename:
                lineno = trace.tb_lineno
                text = self.spec.source_lines[lineno - 1].strip() if 0 < lineno <= len(self.spec.source_lines) else ""
                frames.append(FrameInfo(line=lineno, function=frame.f_code.co_name, text=text))
                innermost = frame
            trace = trace.tb_next
        info = ExceptionInfo(
            type=type(error).__name__,
            message=str(error),
            line=frames[-1].line if frames else None,
            traceback=tuple(frames),
        )
        return info, innermost


def untraced_message(start: int | None, stop: int | None, loops: Sequence[tuple[int, int, int]]) -> str:
    """`ran untraced: lines 54–101, iterations 2–100 (loop at line 95). …`: what a resume did not record."""
    if start is not None and stop is not None:
        lines = f"line {start}" if start == stop else f"lines {min(start, stop)}–{max(start, stop)}"
    elif start is not None:
        lines = f"from line {start} to the end of the script"
    elif stop is not None:
        lines = f"up to line {stop}"
    else:
        lines = "the rest of the script"
    iterations = ", ".join(
        f"iteration {first} (loop at line {loop})" if first == last else f"iterations {first}–{last} (loop at line {loop})"
        for loop, first, last in loops
    )
    where = f"{lines}, {iterations}" if iterations else lines
    return (
        f"ran untraced: {where}. Continue ran this stretch at native speed and kept none of its steps; "
        "the next step is where it stopped, the one before is where it started."
    )


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """While the script runs, what existed before it (torch's modules, gradstep's own) is out of the
    garbage collector's sight (`gc.freeze`), and is back in it afterwards.

    A full collection walks every object alive, and before the script that is already ~170,000 of
    torch's and gradstep's; making steps allocates enough that full collections come while the
    script runs too. Frozen, they walk only what the run made: a `gradstep record` of the seed
    example spent 0.62 s collecting, 0.29 s so (a plain `python` run of it spends 0.60 s, most of it
    in the imports). Only the objects alive at the start are set aside, and only until the run ends:
    the script's own garbage is collected as usual.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
