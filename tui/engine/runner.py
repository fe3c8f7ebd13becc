"""One run of a script: sets the process up as `python script.py` would, runs it under the
tracer and the probes, and turns every moment worth showing into an immutable Step.

The Session (session.py) owns the thread and the learner's commands; this module owns
what happens inside the script's thread.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from pathlib import Path
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import torch  # the script's tensors are read here, in the thread that runs it

from tui.engine import output
from tui.engine.accumulation import Accumulation
from tui.engine.environment import script_environment
from tui.engine.breakpoints import BreakRules
from tui.engine.evaluate import Inspector
from tui.engine.graph import GraphCapture
from tui.engine.loops import BREAK_NAME, FOR_NAME, WHILE_NAME, LoopCounters
from tui.engine.probes import Probes
from tui.engine.snapshot import ViewMaker, collect_named, frame_namespaces
from tui.engine.tracer import Tracer
from tui.errors import BadInput
from tui.steps.model import ExceptionInfo, FrameInfo, Graph, Kind, Phase, Step, TensorView
from tui.steps.phases import changes, event_phase, line_phase
from tui.steps.runs import RunStatus

if TYPE_CHECKING:
    from tui.engine.session import Command, Mode


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
        self._pid = os.getpid()
        self._on_step = on_step
        self._next_command = next_command
        self._stop_requested = stop_requested
        self.views = ViewMaker()
        self.graphs = GraphCapture()
        self.accumulation = Accumulation()
        self.tracer = Tracer(spec.filename, self._at_line)
        self.inspect = Inspector(self.views)  # evaluate hook: watches, conditions (tui.engine.evaluate)
        self.tracer.break_test = self.inspect.condition_stops
        self.break_rules = BreakRules(spec.filename)  # evaluate hook: --break-on (tui.engine.breakpoints)
        # breaks-only runs hit their breakpoints through the instrumented code, untraced.
        self.tracer.breakpoints = breakpoints if spec.mode != "breaks-only" else frozenset()
        self.probes = Probes(self, light=spec.mode == "breaks-only")
        self.output = output.OutputBuffer()
        self.count = 0
        self.command = "step"  # what the learner asked last: step | next | out | continue
        self._globals: dict[str, Any] = {}
        # The frame an interactive run is paused in at a line (None while running or mid-event).
        self.paused_frame: FrameType | None = None
        self._previous: Mapping[str, TensorView] = {}
        self._previous_ids: dict[str, int] = {}
        self._phase: Phase | None = None
        self._leaves: list[torch.Tensor] = []
        self._last_event: Phase | None = None  # phase of the last probe event since the last step
        self._backward_mark = -1  # highest autograd sequence number a backward has run through
        self._last_line: int | None = None  # the line of the last step emitted
        # Set by a resume (interactive): where the untraced stretch began and the loop counts then.
        self._untraced_from: tuple[int | None, dict[tuple[int, int], tuple[list[int], int]]] | None = None

    # -- running ----------------------------------------------------------------------------

    def run(self) -> tuple[RunStatus, ExceptionInfo | None]:
        """Run the script to its end; returns (status, exception)."""
        spec = self.spec
        environment = script_environment(
            spec.path, spec.filename, spec.device, self.output, traced=spec.mode != "breaks-only"
        )
        self.probes.install()
        try:
            with environment as module:
                namespace = module.__dict__
                namespace[FOR_NAME] = self.counters.start_for
                namespace[WHILE_NAME] = self.counters.tick_while
                namespace[BREAK_NAME] = self._break_hit
                self.counters.on_header_break = self._header_break_hit
                self._globals = namespace
                return self._execute(namespace)
        except CallbackFailed as failed:
            raise failed.error from None
        finally:
            self.probes.uninstall()
            self.counters.clear()
            self.views.clear()
            self.graphs.clear()
            self.accumulation.clear()
            self._leaves = []
            self._previous = {}

    def _execute(self, namespace: dict[str, Any]) -> tuple[RunStatus, ExceptionInfo | None]:
        with self.break_rules.nan_mode(self.stop_inside):  # evaluate hook: a no-op unless `nan` is armed
            return self._execute_script(namespace)

    def _execute_script(self, namespace: dict[str, Any]) -> tuple[RunStatus, ExceptionInfo | None]:
        try:
            if self.spec.mode == "breaks-only":
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
            self._emit("end", None, message="stopped before the end of the script")
            return "stopped", None
        except SystemExit as exit_request:
            if exit_request.code in (None, 0):
                self._emit("end", None, message="the script called sys.exit()")
                return "finished", None
            return self._raised(exit_request)  # a failing exit status, as the shell would see it
        except BaseException as error:  # the script's own exception: shown as a step
            return self._raised(error)
        self._emit("end", None)
        return "finished", None

    def _raised(self, error: BaseException) -> tuple[RunStatus, ExceptionInfo | None]:
        info, frame = self._exception_info(error)
        self._emit("exception", frame, line=info.line, exception=info)
        return "raised", info

    # -- tracer and instrumented-script callbacks -------------------------------------------

    def _forked(self) -> bool:
        """Whether this is a child process the script forked (a DataLoader worker): it records nothing.

        The tracer's at-fork hook already stops tracing there; `_emit` and `capturing` are the
        two ways a step can still start in the child (compiled-in breakpoints, probes).
        """
        return os.getpid() != self._pid

    def _at_line(self, frame: FrameType) -> None:
        """The tracer stopped before a line of the script."""
        if self._stop_requested():
            raise StopScript("stopped")
        if self.spec.mode == "breaks-only":  # a kick to honour a stop request: carry on untraced
            self.tracer.set_continue()
            return
        if self.break_rules.rules:  # evaluate hook: a step made anyway brings the rules' view up to date
            self.rule_stops(frame)
        self.inspect.stepped_onto(frame, self.tracer.breakpoints)  # evaluate hook: says if a condition holds
        self._emit("line", frame)
        if self.spec.mode == "interactive":
            self.paused_frame = frame
            try:
                command = self._next_command()
            finally:
                self.paused_frame = None
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
        self._untraced_from = (self._last_line, self.counters.snapshot())
        self.tracer.set_continue()

    # -- evaluate hooks: break-on rules (tui.engine.breakpoints) ------------------------------

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
        self._emit("line", frame)
        if self.spec.mode == "interactive":
            self.tracer._retrace()  # a native-speed continue: trace again, so the next command can stop
            self.paused_frame = frame
            try:
                command = self._next_command()
            finally:
                self.paused_frame = None
            self._obey(command, frame)

    def _break_hit(self, line: int) -> None:
        """A breakpoint line of a breaks-only run is about to run."""
        if self._stop_requested():
            raise StopScript("stopped")
        if not self.inspect.condition_stops(sys._getframe(1), line):  # evaluate hook
            return
        self._emit("line", sys._getframe(1), line=line)

    def _header_break_hit(self, frame: FrameType, line: int, iteration: int) -> None:
        if self._stop_requested():
            raise StopScript("stopped")
        if not self.inspect.condition_stops(frame, line):  # evaluate hook
            return
        self._emit("line", frame, line=line, position=(line, iteration))

    # -- the probes' host interface -----------------------------------------------------------

    def paused_tensors(self) -> dict[str, Any]:
        """The paused script's named tensors, live (call only from the script's thread while paused)."""
        if self.paused_frame is None:
            raise BadInput("the script is not paused at a line: pause it to export its live tensors")
        named = collect_named(frame_namespaces(self.paused_frame, self._globals))
        return {name: tensor for name, tensor, _ in named.tensors}

    def capturing(self) -> bool:
        """Whether backward / optimizer / reset events become sub-steps now."""
        if self._forked() or self.inspect.busy:  # evaluate hook: an expression's backward() makes no steps
            return False
        return self.spec.mode == "record" or (self.spec.mode == "interactive" and self.command == "step")

    def event_step(self, kind: Kind, frame: FrameType | None, **event: Any) -> bool:
        """Emit a sub-step; False when the learner skipped the rest of this event."""
        if not self.capturing():
            return False
        self._emit(kind, frame, **event)
        if self.spec.mode != "interactive":
            return True
        self.inspect.event_frame = frame  # evaluate hook: `:` at a sub-step evaluates here
        try:
            command = self._next_command()
        finally:
            self.inspect.event_frame = None
        if command == "stop":
            raise StopScript("stopped")
        if command == "step_into":
            self.tracer.step_into()
            return True
        if command == "resume":
            self._resume()
        elif frame is not None:
            self.command = "next"
            self.tracer.step_over(frame)
        return False

    def event_graph(self, frame: FrameType | None, extra_roots: Sequence[torch.Tensor]) -> Graph | None:
        """The graph before a backward pass: the named tensors' and the pass's own roots."""
        named = collect_named(frame_namespaces(frame, self._globals))
        roots: list[tuple[str | None, torch.Tensor]] = [(name, tensor) for name, tensor, _ in named.tensors]
        roots.extend((None, tensor) for tensor in extra_roots)
        latest = {id(tensor): self._previous[name] for name, tensor, _ in named.tensors if name in self._previous}
        return self.graphs.capture(
            roots, named.name_of(), lambda tensor: latest.get(id(tensor)) or self.views.view(tensor)
        )

    def param_names(self, frame: FrameType | None) -> dict[int, str]:
        return collect_named(frame_namespaces(frame, self._globals)).name_of()

    def name_in_script(self, obj: Any, frame: FrameType | None) -> str:
        for namespace in reversed(frame_namespaces(frame, self._globals)):
            for name, value in list(namespace.items()):
                if value is obj and not name.startswith("__"):
                    return name
        return type(obj).__name__

    def tracked_leaves(self) -> list[torch.Tensor]:
        return self._leaves

    def noted(self, phase: Phase, roots: Sequence[torch.Tensor] = ()) -> None:
        """A backward / optimizer.step() / zero_grad() ran (whether or not it became sub-steps)."""
        self._last_event = phase
        if self.break_rules.rules:  # evaluate hook: node:CLASS rules see the pass's graph
            self.break_rules.noted(phase, roots)
        for tensor in roots:
            node = tensor.grad_fn
            if node is not None:
                self._backward_mark = max(self._backward_mark, _sequence_nr(node))

    def route_output(self) -> None:
        """Autograd may run hooks on its own threads: their writes belong to this run too."""
        output.route(threading.get_ident(), self.output)

    # -- making steps -------------------------------------------------------------------------

    def _emit(
        self,
        kind: Kind,
        frame: FrameType | None,
        *,
        line: int | None = None,
        position: tuple[int | None, int | None] | None = None,
        graph: Graph | None | bool = False,
        pending: Mapping[str, TensorView] | None = None,
        **event: Any,
    ) -> None:
        if self._forked():
            return
        final = kind in ("end", "exception")
        if not final and self._stop_requested():
            raise StopScript("stopped")
        if self._untraced_from is not None:
            self._publish(self._untraced_step(frame, line, position))
        if self.count >= self.spec.max_steps and not final:
            self._publish(
                self._make("limit", frame, line, position, False, None, {}),
            )
            raise StopScript("limit")
        step = self._make(kind, frame, line, position, graph, pending, event)
        self._publish(step)

    def _publish(self, step: Step) -> None:
        self.count += 1
        try:
            self._on_step(step)
        except BaseException as error:  # not the script's: must not become its exception step
            raise CallbackFailed(error) from None

    def _make(
        self,
        kind: Kind,
        frame: FrameType | None,
        line: int | None,
        position: tuple[int | None, int | None] | None,
        graph: Graph | None | bool,
        pending: Mapping[str, TensorView] | None,
        event: dict[str, Any],
    ) -> Step:
        named = collect_named(frame_namespaces(frame, self._globals))
        views = self.views.views(
            (name, tensor, role, self.accumulation.count(tensor)) for name, tensor, role in named.tensors
        )
        for name, tensor, _ in named.tensors:
            view = views[name]
            shown = self.accumulation.observed(tensor, view)
            if view.accumulated != shown:
                views[name] = dataclasses.replace(view, accumulated=shown)
        self._leaves = [tensor for _, tensor, _ in named.tensors if tensor.is_leaf and tensor.requires_grad]
        if pending:
            views.update((name, view) for name, view in pending.items() if name in views)
        ids = {name: id(tensor) for name, tensor, _ in named.tensors}
        if kind in ("backward", "accumulate", "optimizer", "reset"):
            phase = event_phase(kind, self._phase)
        else:
            found = changes(self._previous, views, self._previous_ids, ids)
            named_tensors = {name: tensor for name, tensor, _ in named.tensors}
            fresh = any(
                named_tensors[name].grad_fn is not None
                and _sequence_nr(named_tensors[name].grad_fn) > self._backward_mark
                for name in found.get("forward", ())
            )
            phase = line_phase(found, self._phase, self._last_event, fresh)
        self._last_event = None
        if graph is False:
            by_id = {id(tensor): views[name] for name, tensor, _ in named.tensors}
            graph = self.graphs.capture(
                [(name, tensor) for name, tensor, _ in named.tensors],
                named.name_of(),
                lambda tensor: by_id.get(id(tensor)) or self.views.view(tensor),
            )
        script_frame = frame
        while script_frame is not None and script_frame.f_code.co_filename != self.filename:
            script_frame = script_frame.f_back
        if line is None and script_frame is not None:
            line = script_frame.f_lineno
        loop_line, iteration = position if position is not None else self.counters.position(script_frame, line)
        self._previous, self._previous_ids, self._phase = views, ids, phase
        self._last_line = line
        return Step(
            index=self.count,
            kind=kind,
            phase=phase,
            line=line,
            function=script_frame.f_code.co_name if script_frame is not None else "<module>",
            depth=self._depth(script_frame),
            loop_line=loop_line,
            iteration=iteration,
            tensors=views,
            scalars=named.scalars,
            graph=graph if isinstance(graph, Graph) else None,
            output=self.output.take(),
            message=self._limit_message() if kind == "limit" else event.pop("message", None) or self.inspect.note_for(kind),
            watches=self.inspect.watch_values(script_frame, self._globals),  # evaluate hook
            **event,
        )

    def _untraced_step(
        self, frame: FrameType | None, line: int | None, position: tuple[int | None, int | None] | None
    ) -> Step:
        """The one step standing for what a resume ran unrecorded, made at the stop that ended it."""
        assert self._untraced_from is not None
        start, counts = self._untraced_from
        self._untraced_from = None
        step = self._make("untraced", frame, line, position, False, None, {})
        message = untraced_message(start, step.line, self.counters.advanced_since(counts))
        return dataclasses.replace(step, message=message)

    def _limit_message(self) -> str:
        return f"step limit reached: {self.spec.max_steps} steps (raise it with --max-steps)"

    def _depth(self, frame: FrameType | None) -> int:
        depth = -1
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                depth += 1
            frame = frame.f_back
        return max(depth, 0)

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


def _sequence_nr(node: object) -> int:
    """The order in which autograd created a node (-1 when it does not say)."""
    try:
        return int(node._sequence_nr())  # type: ignore[attr-defined]
    except Exception:
        return -1
