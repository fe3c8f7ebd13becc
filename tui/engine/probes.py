"""Instrumentation of backward(), optimizer.step() and zero_grad() for one run.

`torch.autograd.backward` (which `Tensor.backward` calls) and `torch.autograd.grad`
are wrapped, zero_grad() of optimizers and modules too (torch has no hook for it),
and optimizer steps are seen through torch's global optimizer step hooks. The
wrappers act only in the thread running the script; every patch, hook and handle is
removed when the run ends, so the script computes exactly what it computes alone.

When the session wants sub-steps, a backward pass registers a pre-hook and a hook on
every node of its graph (and a post-accumulate-grad hook on every leaf) and reports
one event per node in the order the engine runs them; an optimizer step reports one
event per parameter after the real step has run. A `node:CLASS` break-on rule does the
same for a pass whose graph holds a node of that class even when no sub-steps are wanted
(continue, breaks-only), and reports only those nodes: each is a stop.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol, TypeVar, cast

import torch  # this module patches torch for the duration of a run

from tui.engine.accumulation import Accumulation
from tui.engine.breakpoints import node_note
from tui.engine.graph import GraphCapture, walk
from tui.engine.snapshot import ViewMaker, data_aliases, hyperparameters, param_name, readable_grad, unprofiled
from tui.engine.stepmaker import Event, GradsReset, NodeRan, ParamUpdated
from tui.steps.model import Graph, NodeEvent, ParamUpdate, Phase, ResetEvent, Role, TensorView, state_name
from tui.steps.phases import is_zero_tensor


class Host(Protocol):
    """What the probes need from the running session."""

    filename: str

    @property
    def views(self) -> ViewMaker: ...
    @property
    def graphs(self) -> GraphCapture: ...
    @property
    def accumulation(self) -> Accumulation: ...

    def capturing(self) -> bool: ...
    def stop_nodes(self) -> frozenset[str]: ...
    def event_graph(self, frame: FrameType | None, extra_roots: Sequence[torch.Tensor]) -> Graph | None: ...
    def event_step(self, event: Event, frame: FrameType | None, *, stop_note: str | None = None) -> bool: ...
    def name_in_script(self, obj: Any, frame: FrameType | None) -> str: ...
    def param_names(self, frame: FrameType | None) -> dict[int, str]: ...
    def tracked_leaves(self) -> list[torch.Tensor]: ...
    def noted(self, phase: Phase, roots: Sequence[torch.Tensor] = ()) -> None: ...
    def route_output(self) -> None: ...


@dataclass
class _Pass:
    """One captured backward pass in progress."""

    frame: FrameType | None
    graph: Graph | None
    arrived: dict[int, tuple[TensorView | None, ...]] = field(default_factory=dict)
    grad_before: dict[int, tuple[TensorView | None, bool]] = field(default_factory=dict)
    grad_after: dict[int, TensorView] = field(default_factory=dict)
    done: list[int] = field(default_factory=list)
    emitting: bool = True
    stop_at: frozenset[str] = frozenset()  # node classes a `node:` rule stops at, sub-steps or not


_active: dict[int, Probes] = {}  # worker thread ident -> its probes
_patch_lock = threading.Lock()
_originals: dict[str, Any] = {}
_installs = 0


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, torch.Tensor)]
    return []


def _holds(roots: Sequence[torch.Tensor], classes: frozenset[str]) -> bool:
    """Whether the graph behind the roots has a node of one of these classes."""
    return any(type(node).__name__ in classes for node in walk(tensor.grad_fn for tensor in roots))


def _new_state_keys(optimizer: torch.optim.Optimizer, param: torch.Tensor, before: Sequence[tuple[str, TensorView]]) -> list[str]:
    """The keys of the optimizer's state for `param` that its step created (all of them on Adam's first)."""
    try:
        had = {key for key, _ in before}
        return [str(key) for key in (optimizer.state.get(param) or {}) if str(key) not in had]
    except Exception:  # odd state: nothing is hidden
        return []


def _leaf_of(node: Any) -> torch.Tensor | None:
    """The tensor an AccumulateGrad node feeds (None for every other node)."""
    variable = getattr(node, "variable", None)
    return variable if isinstance(variable, torch.Tensor) else None


def _views(views: ViewMaker, tensors: Sequence[Any]) -> tuple[TensorView | None, ...]:
    return tuple(views.view(tensor) if isinstance(tensor, torch.Tensor) else None for tensor in tensors)


_Hook = TypeVar("_Hook", bound=Callable[..., None])


def unprofiled_call(function: _Hook) -> _Hook:
    """A hook whose tensor reads stay out of the script's profiler (see snapshot.unprofiled).

    Made for every node of every backward pass: a plain closure (functools.wraps would copy the
    hook's name and docstring each time, which nothing reads)."""

    def call(*args: Any) -> None:
        with unprofiled:
            function(*args)

    return call  # type: ignore[return-value]  # the same signature (typing.cast is a call per node)


def unprofiled_method(method: _Hook) -> _Hook:
    """unprofiled_call for a method (made once, so it keeps the method's name and docstring)."""
    return cast(_Hook, functools.wraps(method)(unprofiled_call(method)))


class Probes:
    """The instrumentation of one run, active in the thread that runs the script."""

    def __init__(self, host: Host, light: bool = False) -> None:
        self.host = host
        # Light probes (breaks-only runs, which never show sub-steps) only note that an
        # event happened, so that the script keeps its native speed.
        self.light = light
        self._inside = threading.local()
        # Backward passes running now (any thread): the script's lines they run (a custom
        # Function's backward, a tensor hook) are backprop, whatever they compute.
        self.backward_running = 0

    # -- installing ------------------------------------------------------------------------

    def install(self) -> None:
        """Activate for the calling thread (patches torch on the first install)."""
        global _installs
        with _patch_lock:
            if _installs == 0:
                _patch()
            _installs += 1
            _active[threading.get_ident()] = self

    def uninstall(self) -> None:
        """Deactivate; the last uninstall restores torch exactly as it was."""
        global _installs
        with _patch_lock:
            for ident, probes in list(_active.items()):
                if probes is self:
                    del _active[ident]
            _installs -= 1
            if _installs == 0:
                _unpatch()

    def _script_frame(self) -> FrameType | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != self.host.filename:
            frame = frame.f_back
        return frame

    # -- backward ----------------------------------------------------------------------------

    def backward(self, real: Callable[..., Any], roots: Any, args: tuple, kwargs: dict) -> Any:
        """Run a backward pass (or autograd.grad), reporting node by node when wanted."""
        stop_at = self.host.stop_nodes()  # evaluate hook: empty unless a `node:` rule is armed
        if self.light and not stop_at:
            self.host.noted("backprop", _tensors(roots))
            self.backward_running += 1
            try:
                return real(roots, *args, **kwargs)
            finally:
                self.backward_running -= 1
        if getattr(self._inside, "backward", False):
            return real(roots, *args, **kwargs)
        self._inside.backward = True
        self.host.noted("backprop", _tensors(roots))
        self.backward_running += 1
        try:
            frame = self._script_frame()
            if self.host.capturing():
                return self._captured_backward(real, roots, args, kwargs, frame, stop_at)
            if stop_at and _holds(_tensors(roots), stop_at):  # only the rule's nodes become steps
                return self._captured_backward(real, roots, args, kwargs, frame, stop_at, emitting=False)
            if self.light:
                return real(roots, *args, **kwargs)
            return self._plain_backward(real, roots, args, kwargs)
        finally:
            self.backward_running -= 1
            self._inside.backward = False
            self.host.graphs.saved_freed()

    def _plain_backward(self, real: Callable[..., Any], roots: Any, args: tuple, kwargs: dict) -> Any:
        """A backward pass without sub-steps: only the accumulation counts of the named leaves."""
        leaves = self.host.tracked_leaves()
        before = [(tensor, tensor.grad, None if tensor.grad is None else tensor.grad._version) for tensor in leaves]
        result = real(roots, *args, **kwargs)
        accumulation = self.host.accumulation
        for tensor, grad, version in before:
            after = tensor.grad
            if after is not None and (after is not grad or after._version != version):
                accumulation.added(tensor, was_reset=grad is None or accumulation.count(tensor) == 0)
        return result

    def _captured_backward(
        self,
        real: Callable[..., Any],
        roots: Any,
        args: tuple,
        kwargs: dict,
        frame: Any,
        stop_at: frozenset[str] = frozenset(),
        emitting: bool = True,
    ) -> Any:
        root_tensors = _tensors(roots)
        graph = self.host.event_graph(frame, root_tensors)
        state = _Pass(frame=frame, graph=graph, emitting=emitting, stop_at=stop_at)
        handles: list[Any] = []
        try:
            with unprofiled:  # gradstep's own calls: no script code runs while the hooks go on
                for node in walk(tensor.grad_fn for tensor in root_tensors):
                    handles.append(node.register_prehook(self._prehook(node, state)))
                    handles.append(node.register_hook(self._hook(node, state)))
                    variable = _leaf_of(node)
                    if variable is not None and variable.requires_grad:
                        handles.append(variable.register_post_accumulate_grad_hook(self._accumulated(node, state)))
            with self.host.views.sharing_storage():  # one grad, handed over as several tensors
                return real(roots, *args, **kwargs)
        finally:
            with unprofiled:
                for handle in handles:
                    handle.remove()

    def _prehook(self, node: Any, state: _Pass) -> Callable[[Any], None]:
        @unprofiled_call
        def prehook(grad_outputs: Any) -> None:
            self.host.route_output()
            variable = _leaf_of(node)
            if variable is not None:
                grad = variable.grad
                before = None if grad is None else self.host.views.view(grad)
                was_reset = before is None or is_zero_tensor(before) or self.host.accumulation.count(variable) == 0
                state.grad_before[id(node)] = (before, was_reset)
            if state.emitting or type(node).__name__ in state.stop_at:
                state.arrived[id(node)] = _views(self.host.views, grad_outputs)

        return prehook

    def _accumulated(self, node: Any, state: _Pass) -> Callable[[torch.Tensor], None]:
        @unprofiled_call
        def accumulated(tensor: torch.Tensor) -> None:
            _, was_reset = state.grad_before.get(id(node), (None, True))
            self.host.accumulation.added(tensor, was_reset)
            if (state.emitting or type(node).__name__ in state.stop_at) and tensor.grad is not None:
                state.grad_after[id(node)] = self.host.views.view(tensor.grad)

        return accumulated

    def _hook(self, node: Any, state: _Pass) -> Callable[[Any, Any], None]:
        @unprofiled_call
        def hook(grad_inputs: Any, grad_outputs: Any) -> None:
            node_id = self.host.graphs.id_of(node)
            if node_id is not None:
                state.done.append(node_id)
            name = type(node).__name__
            stop = name in state.stop_at  # evaluate hook: a `node:` rule stops at this node
            if not (state.emitting or stop) or node_id is None:
                return
            variable = _leaf_of(node)
            is_accumulate = variable is not None
            event = NodeEvent(
                node_id=node_id,
                name=name,
                grad_outputs=state.arrived.pop(id(node), ()),
                grad_inputs=_views(self.host.views, grad_inputs),
                leaf=self.host.param_names(state.frame).get(id(variable)) if is_accumulate else None,
                grad_before=state.grad_before.get(id(node), (None, True))[0] if is_accumulate else None,
                grad_after=state.grad_after.get(id(node)) if is_accumulate else None,
                done=tuple(state.done),
            )
            note = node_note(name, state.frame.f_lineno if state.frame is not None else None) if stop else None
            state.emitting = self.host.event_step(NodeRan(event, state.graph, is_accumulate, variable), state.frame, stop_note=note)

        return hook

    # -- optimizer.step() and zero_grad() -------------------------------------------------------

    @unprofiled_method
    def optimizer_pre(self, optimizer: torch.optim.Optimizer) -> None:
        """Before optimizer.step(): remember every parameter's value and grad."""
        self.host.noted("optimize")
        if self.light:
            return
        self._inside.step = None
        if not self.host.capturing():
            return
        self._inside.step = [
            (group_index, index, param, self._param_view(param), self._state_views(optimizer, param))
            for group_index, group in enumerate(optimizer.param_groups)
            for index, param in enumerate(group["params"])
        ]

    def _param_view(self, param: torch.Tensor) -> TensorView:
        role: Role = "parameter" if isinstance(param, torch.nn.Parameter) else "tensor"
        return self.host.views.view(param, role, self.host.accumulation.count(param))

    def _state_views(self, optimizer: torch.optim.Optimizer, param: torch.Tensor) -> tuple[tuple[str, TensorView], ...]:
        """The optimizer's state for one parameter (copied now: step() updates it in place)."""
        try:
            state = optimizer.state.get(param) or {}
            pairs = []
            for key, value in state.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = torch.tensor(value)  # a step count kept as a number: shown like a 0-d tensor
                if isinstance(value, torch.Tensor):
                    pairs.append((str(key), self.host.views.view(value, "state")))
            return tuple(pairs)
        except Exception:  # an optimizer with odd state: its updates still show before, grad and after
            return ()

    @unprofiled_method
    def optimizer_post(self, optimizer: torch.optim.Optimizer) -> None:
        """After optimizer.step(): one event per parameter, value before, grad used, after."""
        if self.light:
            return
        before = getattr(self._inside, "step", None)
        self._inside.step = None
        if not before:
            return
        frame = self._script_frame()
        names = self.host.param_names(frame)
        optimizer_name = self.host.name_in_script(optimizer, frame)
        labels = [param_name(optimizer_name, names, group, index, param) for group, index, param, _, _ in before]
        created = [_new_state_keys(optimizer, param, state) for _, _, param, _, state in before]
        groups = list(optimizer.param_groups)
        for position, (group_index, _, param, before_view, state_before) in enumerate(before):
            grad = readable_grad(param)
            after_view = self._param_view(param)
            if grad is None and after_view.value == before_view.value:
                continue  # torch.optim skips parameters without a grad
            update = ParamUpdate(
                optimizer=optimizer_name,
                param=labels[position],
                before=before_view,
                grad=None if grad is None else self.host.views.view(grad),
                after=after_view,
                kind=type(optimizer).__name__,
                group=group_index,
                hyper=hyperparameters(groups[group_index]) if group_index < len(groups) else (),
                state_before=state_before,
                state_after=self._state_views(optimizer, param),
            )
            # Parameters later in the list are shown as they were, with their optimizer state: one
            # update per sub-step.
            not_yet: dict[str, TensorView | None] = {}
            for later in range(position + 1, len(before)):
                not_yet[labels[later]] = before[later][3]
                for key in created[later]:  # state this step made (Adam's first step): not there yet
                    not_yet[state_name(optimizer_name, labels[later], key)] = None
                not_yet.update((state_name(optimizer_name, labels[later], key), view) for key, view in before[later][4])
            if not self.host.event_step(ParamUpdated(update, not_yet), frame):
                return

    def zero_grad(self, real: Callable[..., Any], owner: Any, args: tuple, kwargs: dict) -> Any:
        """A zero_grad() of an optimizer or a module: reset counts, report one event."""
        if self.light:
            self.host.noted("reset")
            return real(owner, *args, **kwargs)
        if getattr(self._inside, "zero_grad", False):
            return real(owner, *args, **kwargs)
        self._inside.zero_grad = True
        try:
            params = _params_of(owner)
            had_grad = [param for param in params if readable_grad(param) is not None]
            result = real(owner, *args, **kwargs)
            for param in params:
                self.host.accumulation.set(param, 0)
            self.host.noted("reset")
            if self.host.capturing():
                with unprofiled:
                    frame = self._script_frame()
                    names = self.host.param_names(frame)
                    set_to_none = bool(kwargs.get("set_to_none", args[0] if args else True))
                    event = ResetEvent(
                        source=self.host.name_in_script(owner, frame),
                        tensors=tuple(names.get(id(param), "?") for param in had_grad),
                        set_to_none=set_to_none,
                    )
                    self.host.event_step(GradsReset(event), frame)
            return result
        finally:
            self._inside.zero_grad = False


def _params_of(owner: Any) -> list[torch.Tensor]:
    try:
        if isinstance(owner, torch.optim.Optimizer):
            return [param for group in owner.param_groups for param in group["params"]]
        if isinstance(owner, torch.nn.Module):
            return list(owner.parameters())
    except Exception:
        pass
    return []


# -- the process-wide patches, active only for threads running a script ------------------------


def _probes() -> Probes | None:
    return _active.get(threading.get_ident())


def _patch() -> None:
    real_backward = torch.autograd.backward
    real_grad = torch.autograd.grad
    real_optimizer_zero = torch.optim.Optimizer.zero_grad
    real_module_zero = torch.nn.Module.zero_grad
    _originals.update(
        backward=real_backward, grad=real_grad, optimizer_zero=real_optimizer_zero, module_zero=real_module_zero
    )

    def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        probes = _probes()
        if probes is None:
            return real_backward(tensors, *args, **kwargs)
        return probes.backward(real_backward, tensors, args, kwargs)

    def grad(outputs: Any, *args: Any, **kwargs: Any) -> Any:
        probes = _probes()
        if probes is None:
            return real_grad(outputs, *args, **kwargs)
        return probes.backward(real_grad, outputs, args, kwargs)

    def optimizer_zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
        probes = _probes()
        if probes is None:
            return real_optimizer_zero(self, *args, **kwargs)
        return probes.zero_grad(real_optimizer_zero, self, args, kwargs)

    def module_zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
        probes = _probes()
        if probes is None:
            return real_module_zero(self, *args, **kwargs)
        return probes.zero_grad(real_module_zero, self, args, kwargs)

    def step_pre(optimizer: Any, args: Any, kwargs: Any) -> None:
        probes = _probes()
        if probes is not None:
            probes.optimizer_pre(optimizer)

    def step_post(optimizer: Any, args: Any, kwargs: Any) -> None:
        probes = _probes()
        if probes is not None:
            probes.optimizer_post(optimizer)

    # `.data` hands out an alias whose writes bump no version of the tensor's: the views are told
    # of each alias the script takes (snapshot._DataAliases). torch.Tensor defines no `data` of its
    # own (it is TensorBase's descriptor), so removing ours restores it exactly.
    real_data: Any = torch._C.TensorBase.__dict__["data"]  # the getset descriptor itself

    def data_get(self: torch.Tensor) -> torch.Tensor:
        alias = real_data.__get__(self)
        if _probes() is not None:
            data_aliases.taken(self, alias)
        return alias

    def data_set(self: torch.Tensor, value: torch.Tensor) -> None:
        real_data.__set__(self, value)

    for wrapper, real in ((backward, real_backward), (grad, real_grad)):
        wrapper.__doc__, wrapper.__name__ = real.__doc__, real.__name__
    if "data" not in torch.Tensor.__dict__:
        torch.Tensor.data = property(data_get, data_set, doc=real_data.__doc__)  # type: ignore[assignment]
        _originals["data"] = True
    torch.autograd.backward = backward
    torch.autograd.grad = grad
    torch.optim.Optimizer.zero_grad = optimizer_zero_grad  # type: ignore[method-assign]
    torch.nn.Module.zero_grad = module_zero_grad  # type: ignore[method-assign]
    from torch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    _originals["handles"] = (register_optimizer_step_pre_hook(step_pre), register_optimizer_step_post_hook(step_post))


def _unpatch() -> None:
    if _originals.pop("data", False):
        del torch.Tensor.data
    data_aliases.clear()
    torch.autograd.backward = _originals.pop("backward")
    torch.autograd.grad = _originals.pop("grad")
    torch.optim.Optimizer.zero_grad = _originals.pop("optimizer_zero")  # type: ignore[method-assign]
    torch.nn.Module.zero_grad = _originals.pop("module_zero")  # type: ignore[method-assign]
    for handle in _originals.pop("handles"):
        handle.remove()
