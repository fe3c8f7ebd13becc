"""Break-on rules: stop the run on what autograd does (grad:NAME, node:CLASS, nan, grad-norm>K).

`grad:` and `grad-norm>` are checked before each line of the script while they are armed (the
tracer keeps tracing, as it does with breakpoints; a breaks-only run is traced only then).
`node:` stops at each node of that class a backward pass runs (the probes hook those nodes, in
passes whose graph holds one). `nan` watches every operation through a TorchDispatchMode that is
on the script thread's mode stack only while the rule is armed (pushed and popped at a line
boundary, so arming it mid-run from the app works), so the first operation whose output holds a
NaN or an Inf (in the forward pass too, and in backward) is named with its line, and the run stops
right there. With no rule armed nothing here runs: a breaks-only run stays at native speed.
"""

from __future__ import annotations

import math
import sys
from types import FrameType
from typing import Any, Callable, Iterator, Sequence

import torch  # the rules read grads and watch operations
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode_stack

from tui.steps.inspect import BreakOn


def _non_finite(value: Any) -> bool:
    for tensor in _tensors(value):
        try:
            if (tensor.is_floating_point() or tensor.is_complex()) and tensor.numel() and not bool(
                torch.isfinite(tensor).all()
            ):
                return True
        except Exception:  # noqa: BLE001 - meta, sparse or odd tensors: not ours to judge
            continue
    return False


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)


def op_name(func: Any) -> str:
    """`aten.log.default` → `log`; `aten.add_.Tensor` → `add_`."""
    name = str(getattr(func, "__name__", func))
    packet = name.split(".")[0]
    return packet.removeprefix("aten::")


class _NanMode(TorchDispatchMode):
    """Runs every operation as usual; the first whose output is not finite calls back, once."""

    def __init__(self, found: Callable[[str, Any], None]) -> None:
        super().__init__()
        self._found = found
        self.fired = False

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        result = func(*args, **(kwargs or {}))
        if not self.fired and _non_finite(result) and not _non_finite((args, list((kwargs or {}).values()))):
            self.fired = True
            self._found(op_name(func), result)
        return result


class BreakRules:
    """The armed break-on rules of one run and what they last saw."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.rules: tuple[BreakOn, ...] = ()
        self._grads: dict[str, tuple[int, int] | None] = {}
        self._norms: dict[int, float] = {}
        self._nan_note: str | None = None
        self._stop_inside: Callable[[FrameType, str], None] | None = None
        self._mode: _NanMode | None = None  # on the script thread's dispatch mode stack while not None

    def configure(self, rules: Sequence[BreakOn]) -> None:
        self.rules = tuple(rules)

    @property
    def line_rules(self) -> bool:
        """Whether any rule needs the tracer to look at every line."""
        return any(rule.kind in ("grad", "grad-norm") for rule in self.rules)

    @property
    def nan(self) -> bool:
        return any(rule.kind == "nan" for rule in self.rules)

    @property
    def node_classes(self) -> frozenset[str]:
        """The backward node classes a `node:` rule stops at."""
        return frozenset(rule.name for rule in self.rules if rule.kind == "node" and rule.name is not None)

    # -- nan: a dispatch mode while armed ---------------------------------------------------------

    @property
    def nan_pending(self) -> bool:
        """Whether the `nan` mode is yet to be pushed (armed) or popped (disarmed) by the script's thread."""
        return self.nan != (self._mode is not None)

    def sync_nan(self, stop_inside: Callable[[FrameType, str], None]) -> None:
        """In the script's thread, between lines: push the NaN mode if armed, pop it if not.

        Only onto an empty stack and only off its top: a mode the script pushed itself (`with
        FakeTensorMode():`) is never reordered; the change then waits for a line outside it.
        """
        if not self.nan_pending:
            return
        stack = _get_current_dispatch_mode_stack()
        if self._mode is None:
            if stack:
                return
            self._stop_inside = stop_inside
            mode = _NanMode(self._found_nan)
            mode.__enter__()
            self._mode = mode
        elif stack and stack[-1] is self._mode:
            self.pop_nan()

    def pop_nan(self) -> None:
        """Take the NaN mode off the stack (a disarm, or the end of the run)."""
        mode, self._mode = self._mode, None
        if mode is not None:
            mode.__exit__(None, None, None)

    def _script_frame(self) -> FrameType | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        return frame

    def _found_nan(self, name: str, result: Any) -> None:
        frame = self._script_frame()
        line = frame.f_lineno if frame is not None else None
        what = "Inf" if not any(bool(torch.isnan(t).any()) for t in _tensors(result) if t.is_floating_point()) else "NaN"
        where = f"at line {line}" if line is not None else "outside the script's own lines"
        note = f"break on nan: `{name}` {where} is the first operation that produced {'an Inf' if what == 'Inf' else 'a NaN'}"
        if frame is not None and self._stop_inside is not None:
            self._stop_inside(frame, note)
        else:
            self._nan_note = note

    # -- the line check -----------------------------------------------------------------------------

    def check(self, frame: FrameType) -> str | None:
        """Before a line: the reason to stop here, if a rule fired since the last line."""
        reasons: list[str] = []
        if self._nan_note is not None:
            reasons.append(self._nan_note)
            self._nan_note = None
        for rule in self.rules:
            if rule.kind == "grad" and rule.name is not None:
                reason = self._grad_changed(rule.name, frame)
                if reason:
                    reasons.append(reason)
            elif rule.kind == "grad-norm" and rule.limit is not None:
                reason = self._grad_norm(rule.limit, frame)
                if reason:
                    reasons.append(reason)
        return "; ".join(reasons) if reasons else None

    def _lookup(self, name: str, frame: FrameType) -> Any:
        trace = sys.gettrace()
        sys.settrace(None)
        try:
            return eval(name, frame.f_globals, frame.f_locals)  # a dotted name checked by parse_break_on
        except Exception:  # noqa: BLE001 - not defined yet: nothing to compare
            return None
        finally:
            sys.settrace(trace)

    def _grad_changed(self, name: str, frame: FrameType) -> str | None:
        tensor = self._lookup(name, frame)
        if not isinstance(tensor, torch.Tensor):
            return None
        grad = tensor.grad
        state = None if grad is None else (id(grad), int(getattr(grad, "_version", 0)))
        known = name in self._grads
        previous = self._grads.get(name)
        self._grads[name] = state
        if not known or state == previous:
            return None
        if grad is None:
            return f"break on grad: {name}.grad was set to None (a reset), before line {frame.f_lineno}"
        now = _short(grad)
        if previous is None:
            return f"break on grad: {name}.grad accumulated: now {now} (it was None), before line {frame.f_lineno}"
        if not bool(grad.any()):
            return f"break on grad: {name}.grad was zeroed (a reset), before line {frame.f_lineno}"
        return f"break on grad: {name}.grad changed to {now} (accumulated), before line {frame.f_lineno}"

    def _grad_norm(self, limit: float, frame: FrameType) -> str | None:
        from tui.engine.snapshot import collect_named, frame_namespaces  # the script's named tensors

        named = collect_named(frame_namespaces(frame, frame.f_globals))
        fired = []
        for name, tensor, _ in named.tensors:
            grad = tensor.grad if tensor.is_leaf else None
            if grad is None:
                continue
            key = id(grad) ^ int(getattr(grad, "_version", 0))
            try:
                norm = float(grad.detach().float().norm())
            except Exception:  # noqa: BLE001
                continue
            if norm > limit and self._norms.get(id(tensor)) != key:
                fired.append(f"{name} ({norm:.4g})")
            self._norms[id(tensor)] = key if norm > limit else -1
        if not fired:
            return None
        return f"break on grad-norm>{limit:g}: the grad norm of {', '.join(fired)} is over {limit:g}"


def node_note(name: str, line: int | None) -> str:
    """Why a `node:` rule stopped at this backward node."""
    where = f" (the backward pass of line {line})" if line is not None else ""
    return f"break on node: {name} ran{where}"


def _short(tensor: torch.Tensor) -> str:
    try:
        if tensor.numel() == 1:
            number = float(tensor.detach().reshape(()))
            return f"{number:.4f}" if math.isfinite(number) else str(number)
        return f"a {'×'.join(str(size) for size in tensor.shape)} tensor (norm {float(tensor.detach().float().norm()):.4g})"
    except Exception:  # noqa: BLE001
        return "a tensor"


def arm(runner: Any, rules: Sequence[BreakOn]) -> None:
    """Arm a runner's break-on rules (any thread): the tracer looks at every line only while a line
    rule needs it, or until the script's thread has pushed or popped the `nan` mode."""
    runner.break_rules.configure(rules)
    runner.watch_lines()
    if runner.tracer.line_watch is not None and runner.tracer.native:  # a native-speed continue: look again
        runner.tracer._retrace()
