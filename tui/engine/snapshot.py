"""Named tensors of the script's frames, turned into immutable TensorViews on the CPU.

Values are read through safe formatters: a conversion that fails becomes a visible
marker string, never an exception; non-finite floats become "nan", "inf", "-inf".
Tensors up to 256 elements are kept in full, bigger ones as a Summary. Views are
cached so that a tensor that did not change is the very same TensorView object from
step to step (the recording writer dedupes with `is`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import torch  # this module reads live tensors of the running script

from tui.steps.model import Role, Summary, TensorView, Values

MAX_FULL_ELEMENTS = 256
SUMMARY_FIRST = 8
_SCALAR_TYPES = (bool, int, float, str, type(None))


def plain_number(value: Any) -> Any:
    """A Python number from tolist(), with non-finite floats as strings."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (bool, int)):
        return value
    return str(value)  # complex and anything exotic: shown as text


def _freeze(values: Any) -> Values:
    if isinstance(values, list):
        return tuple(_freeze(item) for item in values)
    return plain_number(values)


def marker(error: BaseException) -> str:
    """What a tensor that cannot be read shows instead of its values."""
    return f"<unreadable: {type(error).__name__}: {error}>"[:200]


def _tuples(values: Any) -> Values:
    if isinstance(values, list):
        if values and isinstance(values[0], list):
            return tuple(_tuples(item) for item in values)
        return tuple(values)
    return values


def read_values(cpu_tensor: torch.Tensor) -> Values:
    """All values of a CPU tensor as nested tuples (a number for 0-d)."""
    try:
        tensor = cpu_tensor.detach()
        values = tensor.tolist()
        if tensor.is_complex() or (tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())):
            return _freeze(values)  # the slow path: numbers one by one
        return _tuples(values)
    except Exception as error:  # sparse, quantized, meta...: show that it failed
        return marker(error)


def _float_or_none(value: torch.Tensor) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def summarize(cpu_tensor: torch.Tensor) -> Summary | None:
    """Statistics of a tensor too big to keep in full (None if they cannot be computed)."""
    try:
        flat = cpu_tensor.detach().reshape(-1)
        first = tuple(plain_number(item) for item in flat[:SUMMARY_FIRST].tolist())
        if flat.is_complex():
            return Summary(flat.numel(), None, None, None, None, 0, 0, int((flat == 0).sum()), first)
        numbers = flat.double()
        finite = numbers[torch.isfinite(numbers)]
        has_finite = finite.numel() > 0
        return Summary(
            numel=flat.numel(),
            min=_float_or_none(finite.min()) if has_finite else None,
            max=_float_or_none(finite.max()) if has_finite else None,
            mean=_float_or_none(finite.mean()) if has_finite else None,
            std=_float_or_none(finite.std()) if finite.numel() > 1 else None,
            nan=int(torch.isnan(numbers).sum()),
            inf=int(torch.isinf(numbers).sum()),
            zeros=int((numbers == 0).sum()),
            first=first,
        )
    except Exception:  # a summary is a courtesy: its absence is shown, not raised
        return None


def readable_grad(tensor: torch.Tensor) -> torch.Tensor | None:
    """The tensor's .grad, read only where torch keeps one (no warning on non-leaves)."""
    try:
        if tensor.is_leaf or tensor.retains_grad:
            return tensor.grad
    except Exception:
        pass
    return None


@dataclass
class _Cached:
    tensor: torch.Tensor
    grad: torch.Tensor | None
    key: tuple
    view: TensorView
    values: torch.Tensor | None  # CPU copies of small tensors, to see writes through `.data`
    grad_values: torch.Tensor | None


def _small_copy(tensor: torch.Tensor | None, copy: torch.Tensor | None) -> torch.Tensor | None:
    if tensor is None or copy is None or tensor.numel() > MAX_FULL_ELEMENTS:
        return None
    return copy.clone() if copy.data_ptr() == tensor.data_ptr() else copy


def _same(copy: torch.Tensor | None, kept: torch.Tensor | None) -> bool:
    if copy is None or kept is None:
        return copy is kept
    try:
        return bool(torch.equal(copy, kept))
    except Exception:
        return False


def _version(tensor: torch.Tensor) -> int:
    try:
        return tensor._version
    except Exception:  # inference tensors keep no version counter
        return -1


def _meta_key(tensor: torch.Tensor) -> tuple:
    try:
        pointer = tensor.data_ptr()
    except Exception:
        pointer = None
    return (_version(tensor), pointer, tuple(tensor.shape), tensor.dtype, tensor.device, tensor.requires_grad)


class ViewMaker:
    """Makes TensorViews, reusing the previous one when a tensor did not change.

    The cache holds the named tensors of the latest step only, strongly, so that an
    id cannot be reused by another tensor behind its back.
    """

    def __init__(self) -> None:
        self._cache: dict[int, _Cached] = {}

    def clear(self) -> None:
        self._cache = {}

    def views(self, entries: Iterable[tuple[str, torch.Tensor, Role, int]]) -> dict[str, TensorView]:
        """TensorViews for a step's (name, tensor, role, accumulated) entries."""
        entries = list(entries)
        grads = [readable_grad(tensor) for _, tensor, _, _ in entries]
        values: list[torch.Tensor | None] = [tensor for _, tensor, _, _ in entries]
        copies = _cpu_copies(values + grads)
        count = len(entries)
        cache: dict[int, _Cached] = {}
        views: dict[str, TensorView] = {}
        for index, (name, tensor, role, accumulated) in enumerate(entries):
            views[name] = self._view(
                cache, tensor, role, accumulated, copies[index], grads[index], copies[count + index]
            )
        self._cache = cache
        return views

    def view(self, tensor: torch.Tensor, role: Role = "tensor", accumulated: int = 0) -> TensorView:
        """One TensorView outside a step's named tensors (a saved tensor, a node's grads)."""
        grad = readable_grad(tensor)
        value_copy, grad_copy = _cpu_copies([tensor, grad])
        return self._view(None, tensor, role, accumulated, value_copy, grad, grad_copy)

    def _view(
        self,
        cache: dict[int, _Cached] | None,
        tensor: torch.Tensor,
        role: Role,
        accumulated: int,
        value_copy: torch.Tensor | None,
        grad: torch.Tensor | None,
        grad_copy: torch.Tensor | None,
    ) -> TensorView:
        try:
            key = (_meta_key(tensor), None if grad is None else _meta_key(grad), role, accumulated)
            cached = self._cache.get(id(tensor))
            if cached is not None and cached.tensor is tensor and cached.grad is grad and cached.key == key:
                # Small tensors are compared every time: writes through `.data` do not bump _version.
                if (tensor.numel() > MAX_FULL_ELEMENTS or _same(value_copy, cached.values)) and (
                    grad is None or grad.numel() > MAX_FULL_ELEMENTS or _same(grad_copy, cached.grad_values)
                ):
                    if cache is not None:
                        cache[id(tensor)] = cached
                    return cached.view
            view = make_view(tensor, role, accumulated, value_copy, grad, grad_copy)
            if cache is not None:
                cache[id(tensor)] = _Cached(
                    tensor, grad, key, view, _small_copy(tensor, value_copy), _small_copy(grad, grad_copy)
                )
            return view
        except Exception as error:  # sparse, nested, or otherwise odd tensors: show a marker, run on
            return unreadable_view(tensor, role, error)


def unreadable_view(tensor: torch.Tensor, role: Role, error: BaseException) -> TensorView:
    """A tensor whose values cannot be read: what metadata can be read, and a visible marker."""

    def attempt(read: Callable[[], Any], fallback: Any) -> Any:
        try:
            return read()
        except Exception:
            return fallback

    grad_fn = attempt(lambda: tensor.grad_fn, None)
    return TensorView(
        shape=attempt(lambda: tuple(int(size) for size in tensor.shape), ()),
        dtype=attempt(lambda: str(tensor.dtype).removeprefix("torch."), "?"),
        device=attempt(lambda: str(tensor.device), "?"),
        requires_grad=attempt(lambda: bool(tensor.requires_grad), False),
        is_leaf=attempt(lambda: bool(tensor.is_leaf), True),
        grad_fn=None if grad_fn is None else type(grad_fn).__name__,
        version=-1,
        value=marker(error),
        role=role,
    )


def make_view(
    tensor: torch.Tensor,
    role: Role = "tensor",
    accumulated: int = 0,
    value_copy: torch.Tensor | None = None,
    grad: torch.Tensor | None = None,
    grad_copy: torch.Tensor | None = None,
) -> TensorView:
    """A fresh TensorView of `tensor` (value_copy / grad_copy: its CPU copies)."""
    if value_copy is None:
        value_copy = _cpu_copies([tensor])[0]
    value, summary = _value_and_summary(tensor, value_copy)
    grad_value, grad_summary = (None, None) if grad is None else _value_and_summary(grad, grad_copy)
    grad_fn = tensor.grad_fn
    return TensorView(
        shape=tuple(int(size) for size in tensor.shape),
        dtype=str(tensor.dtype).removeprefix("torch."),
        device=str(tensor.device),
        requires_grad=bool(tensor.requires_grad),
        is_leaf=bool(tensor.is_leaf),
        grad_fn=None if grad_fn is None else type(grad_fn).__name__,
        version=_version(tensor),
        value=value,
        summary=summary,
        has_grad=grad is not None,
        grad=grad_value,
        grad_summary=grad_summary,
        accumulated=accumulated if grad is not None else 0,
        role=role,
    )


def _value_and_summary(tensor: torch.Tensor, copy: torch.Tensor | None) -> tuple[Values | None, Summary | None]:
    if copy is None:
        return marker(RuntimeError("could not copy to the CPU")), None
    if tensor.numel() <= MAX_FULL_ELEMENTS:
        return read_values(copy), None
    summary = summarize(copy)
    return (None, summary) if summary is not None else (marker(RuntimeError("no summary")), None)


def _cpu_copies(tensors: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """CPU copies of (detached) tensors, with one synchronisation per device at most."""
    copies: list[torch.Tensor | None] = []
    devices: set[torch.device] = set()
    for tensor in tensors:
        if tensor is None:
            copies.append(None)
            continue
        try:
            detached = tensor.detach()
            if detached.device.type == "cpu":
                copies.append(detached)
            else:
                copies.append(detached.to("cpu", non_blocking=True))
                devices.add(detached.device)
        except Exception:  # e.g. a meta tensor: the view shows a marker
            copies.append(None)
    for device in devices:
        try:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elif device.type == "mps":
                torch.mps.synchronize()
        except Exception:
            pass
    return copies


# -- which tensors a step shows --------------------------------------------------------------


@dataclass
class Named:
    """The tensors and scalars reachable by name from the script's frames at one moment."""

    tensors: list[tuple[str, torch.Tensor, Role]]
    scalars: dict[str, Any]
    optimizers: list[tuple[str, torch.optim.Optimizer]]

    def name_of(self) -> dict[int, str]:
        """id(tensor) -> its first name (the script's own name wins over module paths)."""
        names: dict[int, str] = {}
        for name, tensor, _ in sorted(self.tensors, key=lambda entry: "." in entry[0]):
            names.setdefault(id(tensor), name)
        return names


def _scalar(value: Any) -> Any:
    if isinstance(value, _SCALAR_TYPES):
        return plain_number(value) if isinstance(value, float) else value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        try:
            return plain_number(value.item())
        except Exception as error:
            return marker(error)
    if isinstance(value, tuple) and all(isinstance(item, (int, float)) for item in value):
        return tuple(plain_number(item) for item in value)
    return None


def hyperparameters(group: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A param group's settings as plain data (lr, momentum, betas, ...), without its params."""
    pairs = []
    for key, value in group.items():
        if key == "params":
            continue
        scalar = _scalar(value)
        if scalar is not None or value is None:
            pairs.append((str(key), scalar))
    return tuple(pairs)


def collect_named(namespaces: Iterable[Mapping[str, Any]]) -> Named:
    """Tensors, nn.Module parameters/buffers, optimizers and numbers of the given namespaces.

    Later namespaces (a function's locals) override earlier ones (globals) name by name.
    """
    merged: dict[str, Any] = {}
    for namespace in namespaces:
        for name, value in list(namespace.items()):
            if not name.startswith("__"):
                merged[name] = value
    tensors: list[tuple[str, torch.Tensor, Role]] = []
    scalars: dict[str, Any] = {}
    optimizers: list[tuple[str, torch.optim.Optimizer]] = []
    for name, value in merged.items():
        if isinstance(value, torch.Tensor):
            role: Role = "parameter" if isinstance(value, torch.nn.Parameter) else "tensor"
            tensors.append((name, value, role))
        elif isinstance(value, torch.nn.Module):
            tensors.extend(_module_tensors(name, value))
        elif isinstance(value, torch.optim.Optimizer):
            optimizers.append((name, value))
        elif isinstance(value, (bool, int, float)) and not name.startswith("_"):
            scalars[name] = plain_number(value)
    named = Named(tensors, scalars, optimizers)
    names = named.name_of()
    for name, optimizer in optimizers:
        _add_optimizer(name, optimizer, names, named)
    return named


def _module_tensors(prefix: str, module: torch.nn.Module) -> list[tuple[str, torch.Tensor, Role]]:
    try:
        parameters: list[tuple[str, torch.Tensor, Role]] = [
            (f"{prefix}.{name}", tensor, "parameter") for name, tensor in module.named_parameters()
        ]
        buffers: list[tuple[str, torch.Tensor, Role]] = [
            (f"{prefix}.{name}", tensor, "buffer") for name, tensor in module.named_buffers()
        ]
    except Exception:  # a half-built module (inside __init__): show what can be shown
        return []
    return parameters + buffers


def param_name(optimizer_name: str, names: Mapping[int, str], group: int, index: int, param: Any) -> str:
    """The script's name for an optimizer's parameter, else its place in param_groups."""
    return names.get(id(param)) or f"{optimizer_name}.param_groups[{group}].params[{index}]"


def _add_optimizer(name: str, optimizer: torch.optim.Optimizer, names: Mapping[int, str], named: Named) -> None:
    try:
        groups = list(optimizer.param_groups)
        state = optimizer.state
    except Exception:
        return
    for group_index, group in enumerate(groups):
        prefix = name if group_index == 0 else f"{name}.param_groups[{group_index}]"
        for key, value in group.items():
            if key == "params":
                continue
            scalar = _scalar(value)
            if scalar is not None or value is None:
                named.scalars[f"{prefix}.{key}"] = scalar
        for index, param in enumerate(group.get("params", ())):
            param_state = state.get(param) if isinstance(param, torch.Tensor) else None
            if not param_state:
                continue
            label = param_name(name, names, group_index, index, param)
            for key, value in param_state.items():
                if isinstance(value, torch.Tensor):
                    named.tensors.append((f"{name}.state.{label}.{key}", value, "state"))
                else:
                    scalar = _scalar(value)
                    if scalar is not None:
                        named.scalars[f"{name}.state.{label}.{key}"] = scalar


def frame_namespaces(frame: FrameType | None, module_globals: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Globals, then the current function's locals (when the frame is a function's)."""
    if frame is None:
        return [module_globals]
    if frame.f_code.co_name == "<module>" or frame.f_locals is frame.f_globals:
        return [frame.f_globals]
    return [frame.f_globals, frame.f_locals]
