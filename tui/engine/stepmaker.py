"""Typed events in, immutable Steps out: what the runner saw, turned into what the learner sees.

The runner (runner.py) decides *when* a step is made (the tracer stopped, a probe fired,
the run ended, the step cap); the StepMaker decides *what* it holds: the named tensors'
views, the phase, the graph, where the script is. Each kind of moment is its own event
class carrying exactly its fields, so a step cannot be made with a field its kind does
not have.
"""

from __future__ import annotations

import dataclasses
from types import FrameType
from typing import Any, Callable, Mapping, Union

import torch  # the step maker reads the script's live tensors

from tui.engine import output
from tui.engine.accumulation import Accumulation
from tui.engine.graph import GraphCapture
from tui.engine.loops import LoopCounters
from tui.engine.resets import ManualResets
from tui.engine.snapshot import Named, ViewMaker, collect_named, frame_namespaces, module_watch
from tui.steps.model import ExceptionInfo, Graph, Kind, NodeEvent, ParamUpdate, Phase, ResetEvent, Step, TensorView
from tui.steps.phases import changes, event_phase, line_phase


@dataclasses.dataclass(frozen=True)
class LineReached:
    """The script is about to run a line (the state is the state before it)."""

    kind: Kind = dataclasses.field(default="line", init=False)


@dataclasses.dataclass(frozen=True)
class NodeRan:
    """A backward pass ran one autograd node (an AccumulateGrad node: `accumulate`)."""

    node: NodeEvent
    graph: Graph | None  # the graph as it was before the pass (nodes are freed as it runs)
    accumulate: bool = False
    leaf: torch.Tensor | None = None  # an AccumulateGrad node's leaf: the tensor whose .grad it changed

    @property
    def kind(self) -> Kind:
        return "accumulate" if self.accumulate else "backward"


@dataclasses.dataclass(frozen=True)
class ParamUpdated:
    """optimizer.step() updated one parameter; `pending`: later parameters and their optimizer state,
    shown as they were (None: state the step created, not shown yet)."""

    update: ParamUpdate
    pending: Mapping[str, TensorView | None] = dataclasses.field(default_factory=dict)
    kind: Kind = dataclasses.field(default="optimizer", init=False)


@dataclasses.dataclass(frozen=True)
class GradsReset:
    """zero_grad() (or a `.grad` reset) cleared grads."""

    reset: ResetEvent
    kind: Kind = dataclasses.field(default="reset", init=False)


@dataclasses.dataclass(frozen=True)
class Ended:
    """The script ran to its end (or was stopped, or called sys.exit()); the final state."""

    message: str | None = None
    kind: Kind = dataclasses.field(default="end", init=False)


@dataclasses.dataclass(frozen=True)
class Raised:
    """The script raised and nothing caught it."""

    exception: ExceptionInfo
    kind: Kind = dataclasses.field(default="exception", init=False)


@dataclasses.dataclass(frozen=True)
class LimitReached:
    """The step cap ends the run here."""

    message: str
    kind: Kind = dataclasses.field(default="limit", init=False)


@dataclasses.dataclass(frozen=True)
class RanUntraced:
    """A continue ran a stretch at native speed; this step stands for it (message set once made)."""

    kind: Kind = dataclasses.field(default="untraced", init=False)


Event = Union[LineReached, NodeRan, ParamUpdated, GradsReset, Ended, Raised, LimitReached, RanUntraced]
SUB_STEP_KINDS: frozenset[Kind] = frozenset({"backward", "accumulate", "optimizer", "reset"})
_BACKWARD_KINDS: frozenset[Kind] = frozenset({"backward", "accumulate"})


class StepMaker:
    """Makes the Steps of one run, remembering what the previous step showed (for phases)."""

    def __init__(
        self, filename: str, counters: LoopCounters, out: output.OutputBuffer, *, track_resets: bool = True
    ) -> None:
        self.filename = filename
        self.counters = counters
        self.output = out
        self.views = ViewMaker()
        self.graphs = GraphCapture()
        self.accumulation = Accumulation()
        # `.grad = None` / `.grad.zero_()` by hand: the runner makes them reset steps of their own.
        self.resets = ManualResets()
        self.track_resets = track_resets
        # How many backward passes are running right now (the probes count them): a line run by
        # backward() itself (a custom Function's backward, a hook) is backprop.
        self.backward_running: Callable[[], int] = lambda: 0
        self.globals: dict[str, Any] = {}
        self.leaves: list[torch.Tensor] = []  # the named leaves that require grad, as of the last step
        self.last_event: Phase | None = None  # phase of the last probe event since the last step
        self.backward_mark = -1  # highest autograd sequence number a backward has run through
        self.last_line: int | None = None  # the line of the last step made
        self._previous: Mapping[str, TensorView] = {}
        self._previous_ids: dict[str, int] = {}
        self._phase: Phase | None = None
        # Nothing but autograd's or the optimizer's own work ran since the last step (the runner
        # clears it at every line, every probe's start and every command): see `make`.
        self.settled = False
        self._shown: dict[str, tuple[TensorView, TensorView]] = {}  # name -> (view made, view shown)
        self._last_kind: Kind | None = None
        self._live: dict[str, TensorView] = {}  # the last step's views of the live tensors, by name
        self._retaining: list[int] = []  # where in the names the non-leaves that retain their grad are
        self._named: Named | None = None
        self._named_generation = -1
        self._named_frame: FrameType | None = None  # the frame the names were collected at

    def settled_names(self, frame: FrameType | None) -> dict[int, str] | None:
        """id(tensor) -> name as the last step saw it, when nothing but autograd or the optimizer ran
        since and that step's names were read at `frame` (None: collect them again)."""
        if (
            self.settled
            and self._named is not None
            and self._named_frame is frame
            and self._named_generation == module_watch.generation
        ):
            return self._named.name_of()
        return None

    def named_at(self, frame: FrameType | None) -> Named:
        """The tensors, numbers and optimizers the script's names hold at `frame` (read now)."""
        return collect_named(frame_namespaces(frame, self.globals), self.counters.table.variables)

    def clear(self) -> None:
        self.views.clear()
        self.graphs.clear()
        self.accumulation.clear()
        self.resets.clear()
        self.leaves = []
        self._previous = {}
        self._shown = {}
        self._live = {}
        self._named = None
        self._named_frame = None
        self.settled = False

    @property
    def previous_views(self) -> Mapping[str, TensorView]:
        """What the last step showed, by name."""
        return self._previous

    def latest_view(self, name: str) -> TensorView | None:
        """The view the last step showed under this name."""
        return self._previous.get(name)

    def make(
        self,
        index: int,
        event: Event,
        frame: FrameType | None,
        line: int | None = None,
        position: tuple[int | None, int | None] | None = None,
    ) -> Step:
        """The step for one event, numbered `index`, at `frame` (or the given line / loop position)."""
        # No script code runs while a step is made: big tensors on one storage (a weight and the
        # transpose a graph node saved of it, a saved tensor unpacked anew) are summarised once.
        with self.views.sharing_storage():
            return self._make(index, event, frame, line, position)

    def _make(
        self,
        index: int,
        event: Event,
        frame: FrameType | None,
        line: int | None,
        position: tuple[int | None, int | None] | None,
    ) -> Step:
        kind = event.kind
        # A sub-step that follows another of the same backward pass or optimizer.step(), with no
        # line of the script, no evaluation and no module change in between, is "quiet": the
        # names still hold the same tensors (no code rebinds them), and what autograd or the
        # optimizer changed bumped a version or replaced a grad, which the views' quick check
        # sees. So the names are not collected again, and the small tensors' values are not
        # compared (only a write through `.data`, which needs the script's code, escapes a version).
        quiet = (
            kind in SUB_STEP_KINDS
            and self.settled
            and self._named is not None
            and self._named_generation == module_watch.generation
        )
        if quiet:
            assert self._named is not None
            named = self._named
        else:
            named = self.named_at(frame)
            self._named_frame = frame
            self._retaining = [index for index, (_, tensor, _) in enumerate(named.tensors) if _may_retain_grad(tensor)]
        # Which names can have changed. A quiet backward node changes no named tensor but the grads
        # autograd writes: the node's own leaf's (AccumulateGrad) and those of tensors that retain
        # their grad. A quiet optimizer sub-step follows step()'s end: nothing live moved since the
        # last sub-step. Every other step reads every name.
        checked = named.tensors
        partial = quiet and (
            (kind in _BACKWARD_KINDS and self._last_kind in _BACKWARD_KINDS)
            or (kind == "optimizer" and self._last_kind == "optimizer")
        )
        if partial:
            leaf = event.leaf if isinstance(event, NodeRan) else None
            checked = [named.tensors[index] for index in self._retaining]
            if leaf is not None:
                checked += [entry for entry in named.tensors if entry[1] is leaf]
        counts = [self.accumulation.count(tensor) for _, tensor, _ in checked]
        views = self.views.views(
            ((name, tensor, role, count) for (name, tensor, role), count in zip(checked, counts)),
            compare_values=not quiet,
            partial=partial,
        )
        # The count shown beside each grad: the same view at the same count shows what it showed.
        last_shown, shown_views = self._shown, (dict(self._shown) if partial else {})
        for (name, tensor, _), count in zip(checked, counts):
            view = views[name]
            kept = last_shown.get(name)
            if kept is not None and kept[0] is view and kept[1].accumulated == count:
                shown_view = kept[1]
            else:
                shown = self.accumulation.observed(tensor, view)
                shown_view = view if view.accumulated == shown else dataclasses.replace(view, accumulated=shown)
            shown_views[name] = (view, shown_view)
            views[name] = shown_view
        self._shown = shown_views
        if partial:
            views = {**self._live, **views}
        self._live = views  # before an optimizer's later parameters are shown as they were
        if not quiet:
            self.leaves = [tensor for _, tensor, _ in named.tensors if tensor.is_leaf and tensor.requires_grad]
            if self.track_resets:
                self.resets.remember((name, tensor) for name, tensor, _ in named.tensors)
        if isinstance(event, ParamUpdated) and event.pending:
            views = dict(views)  # the live views stay as they are (self._live)
            for name, as_it_was in event.pending.items():
                if as_it_was is None:
                    views.pop(name, None)
                elif name in views:
                    views[name] = as_it_was
        ids = self._previous_ids if quiet else {name: id(tensor) for name, tensor, _ in named.tensors}
        if kind in SUB_STEP_KINDS:
            phase = event_phase(kind, self._phase)
        elif kind == "line" and self.backward_running():
            phase = "backprop"
        else:
            found = changes(self._previous, views, self._previous_ids, ids)
            named_tensors = {name: tensor for name, tensor, _ in named.tensors}
            fresh = any(
                named_tensors[name].grad_fn is not None
                and sequence_nr(named_tensors[name].grad_fn) > self.backward_mark
                for name in found.get("forward", ())
            )
            phase = line_phase(found, self._phase, self.last_event, fresh)
        self.last_event = None
        if isinstance(event, NodeRan):
            graph = event.graph
        else:
            by_id = {id(tensor): views[name] for name, tensor, _ in named.tensors if name in views}
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
        self._named, self._named_generation = named, module_watch.generation
        self.settled = kind in SUB_STEP_KINDS
        self._last_kind = kind
        self.last_line = line
        return Step(
            index=index,
            kind=kind,
            phase=phase,
            line=line,
            function=script_frame.f_code.co_name if script_frame is not None else "<module>",
            depth=self._depth(script_frame),
            loop_line=loop_line,
            iteration=iteration,
            tensors=views,
            scalars=named.scalars,
            graph=graph,
            node=event.node if isinstance(event, NodeRan) else None,
            update=event.update if isinstance(event, ParamUpdated) else None,
            reset=event.reset if isinstance(event, GradsReset) else None,
            exception=event.exception if isinstance(event, Raised) else None,
            output=self.output.take(),
            message=event.message if isinstance(event, (Ended, LimitReached)) else None,
        )

    def _depth(self, frame: FrameType | None) -> int:
        depth = -1
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                depth += 1
            frame = frame.f_back
        return max(depth, 0)


def _may_retain_grad(tensor: torch.Tensor) -> bool:
    """Whether backward can set this non-leaf's .grad (True when the tensor does not say: read it)."""
    try:
        return bool(not tensor.is_leaf and tensor.retains_grad)
    except Exception:
        return True


def sequence_nr(node: object) -> int:
    """The order in which autograd created a node (-1 when it does not say)."""
    try:
        return int(node._sequence_nr())  # type: ignore[attr-defined]
    except Exception:
        return -1
