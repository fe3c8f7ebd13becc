"""The one currency of gradstep: immutable, plain-data steps.

Nothing here imports torch or textual. A Step holds only numbers, strings and
tuples, so it can cross threads, be written to a recording and be drawn by the
app without any live tensor, frame or grad_fn behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Union, cast, get_args

if TYPE_CHECKING:
    from tui.steps.inspect import Evaluation

# What just happened. A line step shows the state *before* its line runs; every
# other kind shows the state just *after* its event. An "untraced" step stands for
# a stretch a live continue ran at native speed without recording its steps (its
# message says which lines and iterations); the step it stopped at follows it.
Kind = Literal["line", "backward", "accumulate", "optimizer", "reset", "untraced", "exception", "limit", "end"]
KINDS: tuple[Kind, ...] = get_args(Kind)
# torch names a node's saved tensors `_saved_<name>`; the recording keeps that prefix.
SAVED_PREFIX = "_saved_"
# The three moves of a training loop, plus the forward pass that feeds them.
Phase = Literal["forward", "backprop", "optimize", "reset"]
PHASES: tuple[Phase, ...] = get_args(Phase)
# What a named tensor is to the script: a plain tensor, an nn.Parameter, a module's buffer
# or an optimizer's state (the recording schema's enum).
Role = Literal["tensor", "parameter", "buffer", "state"]
ROLES: tuple[Role, ...] = get_args(Role)

# A tensor's values in full: a number for a 0-d tensor, nested tuples otherwise.
# Non-finite floats are kept as the strings "nan", "inf" and "-inf" so that the
# JSON we write stays strict.
Values = Union[float, int, bool, str, tuple[Any, ...]]


def freeze_values(values: Any) -> Values | None:
    """Turn nested lists (from JSON or tolist()) into nested tuples (None stays None)."""
    if isinstance(values, list | tuple):
        return tuple(freeze_values(item) for item in values)
    frozen: Values | None = values  # one of JSON's scalars: a number, a string or null
    return frozen


def thaw_values(values: Values | None) -> Any:
    """Turn nested tuples back into nested lists for JSON."""
    if isinstance(values, tuple):
        return [thaw_values(item) for item in values]
    return values


@dataclass(frozen=True, slots=True)
class Summary:
    """Statistics that stand in for a tensor too big to keep in full."""

    numel: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    nan: int
    inf: int
    zeros: int
    first: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "numel": self.numel,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "nan": self.nan,
            "inf": self.inf,
            "zeros": self.zeros,
            "first": list(self.first),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        return cls(
            numel=int(data["numel"]),
            min=data["min"],
            max=data["max"],
            mean=data["mean"],
            std=data["std"],
            nan=int(data["nan"]),
            inf=int(data["inf"]),
            zeros=int(data["zeros"]),
            first=tuple(data["first"]),
        )


def _summary_or_none(data: Mapping[str, Any] | None) -> Summary | None:
    return None if data is None else Summary.from_json(data)


@dataclass(frozen=True, slots=True)
class TensorView:
    """One tensor as it was at one step: metadata, value and .grad, copied to CPU.

    `value` / `grad` hold the numbers in full up to 256 elements; beyond that they
    are None and `summary` / `grad_summary` describe them. `has_grad` tells a
    missing .grad (None) from a kept one. `accumulated` counts the backward
    passes that added into .grad since it was last reset (None or zeroed).
    """

    shape: tuple[int, ...]
    dtype: str
    device: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    version: int
    value: Values | None
    summary: Summary | None = None
    has_grad: bool = False
    grad: Values | None = None
    grad_summary: Summary | None = None
    accumulated: int = 0
    role: Role = "tensor"

    @property
    def numel(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count

    def to_json(self) -> dict[str, Any]:
        """A dict for json.dumps (values stay nested tuples: JSON writes them as arrays)."""
        data: dict[str, Any] = {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "device": self.device,
            "requires_grad": self.requires_grad,
            "is_leaf": self.is_leaf,
            "grad_fn": self.grad_fn,
            "version": self.version,
            "value": self.value,
            "summary": None if self.summary is None else self.summary.to_json(),
            "has_grad": self.has_grad,
            "grad": self.grad,
            "grad_summary": None if self.grad_summary is None else self.grad_summary.to_json(),
            "accumulated": self.accumulated,
            "role": self.role,
        }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TensorView:
        return cls(
            shape=tuple(int(size) for size in data["shape"]),
            dtype=str(data["dtype"]),
            device=str(data["device"]),
            requires_grad=bool(data["requires_grad"]),
            is_leaf=bool(data["is_leaf"]),
            grad_fn=data["grad_fn"],
            version=int(data["version"]),
            value=freeze_values(data["value"]),
            summary=_summary_or_none(data.get("summary")),
            has_grad=bool(data.get("has_grad", False)),
            grad=freeze_values(data.get("grad")),
            grad_summary=_summary_or_none(data.get("grad_summary")),
            accumulated=int(data.get("accumulated", 0)),
            # Not checked on load (as before): the recording schema's enum says which roles exist.
            role=cast(Role, str(data.get("role", "tensor"))),
        )


def state_name(optimizer: str, param: str, key: str) -> str:
    """The name a step's tensors give an optimizer's state `key` for one parameter."""
    return f"{optimizer}.state.{param}.{key}"


ViewWriter = Callable[[TensorView, str, str], Any]


def _write_view(view: TensorView, name: str, when: str) -> dict[str, Any]:
    return view.to_json()


def _view_or_none(data: Mapping[str, Any] | None) -> TensorView | None:
    return None if data is None else TensorView.from_json(data)


def _json_or_none(view: TensorView | None) -> dict[str, Any] | None:
    return None if view is None else view.to_json()


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One autograd node (a grad_fn), with what it saved for backward.

    `attrs` are the non-tensor saved attributes as torchviz's show_attrs prints
    them; `saved` are the saved tensors (None when backward already freed them).
    For an AccumulateGrad node, `leaf` names the tensor it feeds and `variable`
    is that tensor. `next` lists the ids of next_functions in order (None
    entries of next_functions are skipped). `saved_refs` (parallel to `saved`)
    and `variable_ref` tell which of these tensors are one and the same tensor
    object within the graph (equal ints), as torchviz's show_saved draws them
    as one node; empty / None when the capture did not say.
    """

    id: int
    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    saved: tuple[tuple[str, TensorView | None], ...] = ()
    leaf: str | None = None
    variable: TensorView | None = None
    next: tuple[int, ...] = ()
    saved_refs: tuple[int | None, ...] = ()
    variable_ref: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "attrs": [[key, text] for key, text in self.attrs],
            "saved": [[key, _json_or_none(view)] for key, view in self.saved],
            "leaf": self.leaf,
            "variable": _json_or_none(self.variable),
            "next": list(self.next),
        }
        # Written only when the capture recorded tensor identities (older files lack them).
        if self.saved_refs:
            data["saved_refs"] = list(self.saved_refs)
        if self.variable_ref is not None:
            data["variable_ref"] = self.variable_ref
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GraphNode:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            attrs=tuple((str(key), str(text)) for key, text in data.get("attrs", ())),
            saved=tuple((str(key), _view_or_none(view)) for key, view in data.get("saved", ())),
            leaf=data.get("leaf"),
            variable=_view_or_none(data.get("variable")),
            next=tuple(int(node_id) for node_id in data.get("next", ())),
            saved_refs=tuple(None if ref is None else int(ref) for ref in data.get("saved_refs", ())),
            variable_ref=None if data.get("variable_ref") is None else int(data["variable_ref"]),
        )


@dataclass(frozen=True, slots=True)
class Graph:
    """The autograd graph reachable from the named tensors' grad_fn.

    `roots` maps a named tensor to the id of its grad_fn node.
    """

    nodes: tuple[GraphNode, ...] = ()
    roots: tuple[tuple[str, int], ...] = ()

    def node(self, node_id: int) -> GraphNode | None:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None

    def root_of(self, tensor_name: str) -> int | None:
        for name, node_id in self.roots:
            if name == tensor_name:
                return node_id
        return None

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(node, next function) pairs: the direction gradients flow."""
        return tuple((node.id, next_id) for node in self.nodes for next_id in node.next)

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [node.to_json() for node in self.nodes],
            "roots": [[name, node_id] for name, node_id in self.roots],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Graph:
        return cls(
            nodes=tuple(GraphNode.from_json(node) for node in data.get("nodes", ())),
            roots=tuple((str(name), int(node_id)) for name, node_id in data.get("roots", ())),
        )


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """One autograd node run by backward(): the grads that arrived and those it sent on.

    `done` lists the ids of the nodes this backward pass has run so far, this one
    included. For AccumulateGrad, `leaf`, `grad_before` and `grad_after` show
    the leaf's .grad around the accumulation.
    """

    node_id: int
    name: str
    grad_outputs: tuple[TensorView | None, ...] = ()
    grad_inputs: tuple[TensorView | None, ...] = ()
    leaf: str | None = None
    grad_before: TensorView | None = None
    grad_after: TensorView | None = None
    done: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "name": self.name,
            "grad_outputs": [_json_or_none(view) for view in self.grad_outputs],
            "grad_inputs": [_json_or_none(view) for view in self.grad_inputs],
            "leaf": self.leaf,
            "grad_before": _json_or_none(self.grad_before),
            "grad_after": _json_or_none(self.grad_after),
            "done": list(self.done),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeEvent:
        return cls(
            node_id=int(data["node_id"]),
            name=str(data["name"]),
            grad_outputs=tuple(_view_or_none(view) for view in data.get("grad_outputs", ())),
            grad_inputs=tuple(_view_or_none(view) for view in data.get("grad_inputs", ())),
            leaf=data.get("leaf"),
            grad_before=_view_or_none(data.get("grad_before")),
            grad_after=_view_or_none(data.get("grad_after")),
            done=tuple(int(node_id) for node_id in data.get("done", ())),
        )


@dataclass(frozen=True, slots=True)
class ParamUpdate:
    """One parameter updated by optimizer.step(): value before, grad used, value after.

    `kind` is the optimizer's class name (SGD, Adam, ...), `group` the index of the
    param group holding the parameter and `hyper` that group's hyperparameters (lr,
    momentum, betas, ...). `state_before` / `state_after` are the optimizer's state
    for this parameter around the step (momentum_buffer, exp_avg, exp_avg_sq, step,
    ...; numbers as 0-d tensors). All four are empty in recordings made before
    gradstep captured them.
    """

    optimizer: str
    param: str
    before: TensorView
    grad: TensorView | None
    after: TensorView
    kind: str | None = None
    group: int = 0
    hyper: tuple[tuple[str, Any], ...] = ()
    state_before: tuple[tuple[str, TensorView], ...] = ()
    state_after: tuple[tuple[str, TensorView], ...] = ()

    def hyperparameter(self, key: str, default: Any = None) -> Any:
        for name, value in self.hyper:
            if name == key:
                return value
        return default

    def state_name(self, key: str) -> str:
        """The name a step gives this parameter's optimizer state `key`."""
        return state_name(self.optimizer, self.param, key)

    def to_json(self, write: ViewWriter | None = None) -> dict[str, Any]:
        """The update's record; `write(view, name, when)` may write a view as a reference instead
        (`name`: what a step calls that tensor, `when`: "after" or "before" the update)."""
        if write is None:
            write = _write_view
        data: dict[str, Any] = {
            "optimizer": self.optimizer,
            "param": self.param,
            "before": write(self.before, self.param, "before"),
            "grad": _json_or_none(self.grad),
            "after": write(self.after, self.param, "after"),
        }
        # Written only when captured (older files lack them).
        if self.kind is not None:
            data["kind"] = self.kind
            data["group"] = self.group
            data["hyper"] = {key: thaw_values(value) for key, value in self.hyper}
            data["state_before"] = {key: write(view, self.state_name(key), "before") for key, view in self.state_before}
            data["state_after"] = {key: write(view, self.state_name(key), "after") for key, view in self.state_after}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParamUpdate:
        return cls(
            optimizer=str(data["optimizer"]),
            param=str(data["param"]),
            before=TensorView.from_json(data["before"]),
            grad=_view_or_none(data.get("grad")),
            after=TensorView.from_json(data["after"]),
            kind=data.get("kind"),
            group=int(data.get("group", 0)),
            hyper=tuple((str(key), freeze_values(value)) for key, value in (data.get("hyper") or {}).items()),
            state_before=tuple((str(key), TensorView.from_json(view)) for key, view in (data.get("state_before") or {}).items()),
            state_after=tuple((str(key), TensorView.from_json(view)) for key, view in (data.get("state_after") or {}).items()),
        )


@dataclass(frozen=True, slots=True)
class ResetEvent:
    """A zero_grad(): which optimizer or module, and the tensors whose .grad it reset."""

    source: str
    tensors: tuple[str, ...]
    set_to_none: bool

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "tensors": list(self.tensors), "set_to_none": self.set_to_none}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResetEvent:
        return cls(
            source=str(data["source"]),
            tensors=tuple(str(name) for name in data.get("tensors", ())),
            set_to_none=bool(data.get("set_to_none", True)),
        )


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """One frame of the script's own code in a traceback."""

    line: int
    function: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "function": self.function, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FrameInfo:
        return cls(line=int(data["line"]), function=str(data["function"]), text=str(data["text"]))


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """An exception the script raised, with a traceback of the script's frames only."""

    type: str
    message: str
    line: int | None
    traceback: tuple[FrameInfo, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "line": self.line,
            "traceback": [frame.to_json() for frame in self.traceback],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExceptionInfo:
        return cls(
            type=str(data["type"]),
            message=str(data["message"]),
            line=data.get("line"),
            traceback=tuple(FrameInfo.from_json(frame) for frame in data.get("traceback", ())),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """Where the script is, what just happened, and every named tensor at that moment.

    `tensors` and `scalars` are read-only mappings. `output` is what the script
    wrote to stdout/stderr since the previous step. `loop_line` / `iteration`
    name the innermost loop of the script around this step and its 1-based
    iteration; a loop header step belongs to the iteration that just ended
    (the first header to iteration 1).
    """

    index: int
    kind: Kind
    phase: Phase | None = None
    line: int | None = None
    function: str = "<module>"
    depth: int = 0
    loop_line: int | None = None
    iteration: int | None = None
    tensors: Mapping[str, TensorView] = field(default_factory=dict)
    scalars: Mapping[str, Any] = field(default_factory=dict)
    graph: Graph | None = None
    node: NodeEvent | None = None
    update: ParamUpdate | None = None
    reset: ResetEvent | None = None
    exception: ExceptionInfo | None = None
    output: str = ""
    message: str | None = None
    # The learner's watches evaluated at this step (tui.steps.inspect); absent in the file = none.
    watches: tuple[Evaluation, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown step kind {self.kind!r}")
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r}")
        if not isinstance(self.tensors, MappingProxyType):
            object.__setattr__(self, "tensors", MappingProxyType(dict(self.tensors)))
        if not isinstance(self.scalars, MappingProxyType):
            object.__setattr__(self, "scalars", MappingProxyType(dict(self.scalars)))

    def with_index(self, index: int) -> Step:
        return replace(self, index=index)

    def to_json(self, write: ViewWriter | None = None) -> dict[str, Any]:
        """Everything but the tensors and graph, which recordings store deduplicated (`write`: see
        ParamUpdate.to_json)."""
        data: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "phase": self.phase,
            "line": self.line,
            "function": self.function,
            "depth": self.depth,
            "loop_line": self.loop_line,
            "iteration": self.iteration,
            "scalars": dict(self.scalars),
            "node": None if self.node is None else self.node.to_json(),
            "update": None if self.update is None else self.update.to_json(write),
            "reset": None if self.reset is None else self.reset.to_json(),
            "exception": None if self.exception is None else self.exception.to_json(),
            "output": self.output,
            "message": self.message,
        }
        if self.watches:  # written only when the run had watches (older files lack the key)
            data["watches"] = [watch.to_json() for watch in self.watches]
        return data

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        tensors: Mapping[str, TensorView],
        graph: Graph | None,
    ) -> Step:
        return cls(
            index=int(data["index"]),
            kind=cast(Kind, str(data["kind"])),  # __post_init__ checks kind and phase
            phase=data.get("phase"),
            line=data.get("line"),
            function=str(data.get("function", "<module>")),
            depth=int(data.get("depth", 0)),
            loop_line=data.get("loop_line"),
            iteration=data.get("iteration"),
            tensors=tensors,
            # A tuple of numbers (Adam's betas) was written as a JSON list: a tuple again, as recorded.
            scalars={key: freeze_values(value) if type(value) is list else value for key, value in (data.get("scalars") or {}).items()},
            graph=graph,
            node=None if data.get("node") is None else NodeEvent.from_json(data["node"]),
            update=None if data.get("update") is None else ParamUpdate.from_json(data["update"]),
            reset=None if data.get("reset") is None else ResetEvent.from_json(data["reset"]),
            exception=None if data.get("exception") is None else ExceptionInfo.from_json(data["exception"]),
            output=str(data.get("output", "")),
            message=data.get("message"),
            watches=_watches(data.get("watches")),
        )


def _watches(data: Any) -> tuple[Evaluation, ...]:
    if not data:
        return ()
    from tui.steps.inspect import Evaluation  # inspect imports this module: resolved at call time

    return tuple(Evaluation.from_json(watch) for watch in data)


@dataclass(frozen=True, slots=True)
class Header:
    """What a recording says about itself before its first step."""

    format_version: int
    gradstep: str
    torch: str | None
    python: str
    device: str
    device_name: str | None
    script: str
    source: str
    created: str
    max_steps: int | None = None
    breakpoints: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "gradstep-recording",
            "format_version": self.format_version,
            "gradstep": self.gradstep,
            "torch": self.torch,
            "python": self.python,
            "device": self.device,
            "device_name": self.device_name,
            "script": self.script,
            "source": self.source,
            "created": self.created,
            "max_steps": self.max_steps,
            "breakpoints": list(self.breakpoints),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Header:
        return cls(
            format_version=int(data["format_version"]),
            gradstep=str(data["gradstep"]),
            torch=data.get("torch"),
            python=str(data["python"]),
            device=str(data["device"]),
            device_name=data.get("device_name"),
            script=str(data["script"]),
            source=str(data["source"]),
            created=str(data["created"]),
            max_steps=data.get("max_steps"),
            breakpoints=tuple(int(line) for line in data.get("breakpoints", ())),
        )
