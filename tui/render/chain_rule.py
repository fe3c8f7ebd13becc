"""The chain rule at one backward node, with the numbers: grad in × local derivative = grad sent, per input.

A rule is stated only when the node saved what it needs and, where the values are
kept, when its arithmetic gives what torch sent; otherwise the edge shows only the
grad sent (never a guess). Tensors too big to spell out are written as symbols with
their shapes (`grad @ w.T`) and the numbers stay torch's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.render.formatting import shape_text
from tui.render.numbers import (
    SPELLED,
    close,
    elementwise,
    factor,
    flat,
    matmul,
    numeric,
    short_number,
    transpose,
    values_text,
    view_number,
)
from tui.steps.model import Graph, GraphNode, NodeEvent, TensorView


@dataclass(frozen=True, slots=True)
class EdgeGrad:
    """One input edge of a node: the input it feeds, the grad torch sent there, and the rule (or None)."""

    slot: int
    target: str
    sent: TensorView | None
    rule: str | None = None

    def text(self) -> str:
        """`var_1 ← -6 × var_2 (4) = -24`, or `var_1 ← -24` when no rule is stated."""
        result = view_number(self.sent)
        if self.rule is None:
            return f"{self.target} ← {result}"
        return f"{self.target} ← {self.rule} = {result}"


def tensor_names(graph: Graph) -> dict[int, str]:
    """Node id -> the script's name of the tensor that node made (plain names before module paths)."""
    names: dict[int, str] = {}
    for name, node_id in sorted(graph.roots, key=lambda entry: "." in entry[0]):
        names.setdefault(node_id, name)
    return names


def slot_nodes(event: NodeEvent, node: GraphNode, graph: Graph) -> dict[int, GraphNode]:
    """Input slot (position in grad_inputs) -> the next node it feeds.

    The graph skips next_functions that are None (inputs that need no grad), and
    torch sends None to exactly those; so the kept slots line up with `next`.
    """
    nexts = [graph.node(node_id) for node_id in node.next]
    slots = list(range(len(event.grad_inputs)))
    if len(nexts) != len(slots):
        slots = [slot for slot, view in enumerate(event.grad_inputs) if view is not None]
    if len(nexts) != len(slots):
        return {}
    return {slot: next_node for slot, next_node in zip(slots, nexts) if next_node is not None}


def input_name(next_node: GraphNode | None, names: dict[int, str]) -> str | None:
    """The tensor an edge feeds, by the script's name: the leaf, or a named non-leaf."""
    if next_node is None:
        return None
    return next_node.leaf or names.get(next_node.id)


@dataclass
class _Context:
    """What a rule reads: the grad in, the node's saved tensors and attributes, the inputs' names."""

    grad: TensorView
    saved: dict[str, TensorView | None]
    attrs: dict[str, str]
    slot_names: dict[int, str | None]
    output_name: str | None
    sent: TensorView | None

    def has(self, *keys: str) -> bool:
        return all(self.saved.get(key) is not None for key in keys)

    @property
    def small(self) -> bool:
        """True when every operand is one number (the rule is written out as arithmetic)."""
        views = [self.grad, *(view for view in self.saved.values() if view is not None)]
        return all(view.numel == 1 for view in views)


Rule = tuple[str, Any]  # (text left of "=", the computed values or None when not computable)
_RULES: dict[str, Callable[[_Context, int], Rule | None]] = {}


def _rule(*names: str) -> Callable[[Callable[[_Context, int], Rule | None]], Callable[[_Context, int], Rule | None]]:
    def register(function: Callable[[_Context, int], Rule | None]) -> Callable[[_Context, int], Rule | None]:
        for name in names:
            _RULES[name] = function
        return function

    return register


def _values(view: TensorView | None) -> Any:
    """A view's numbers, or None when it holds a summary (or non-numbers such as 'nan')."""
    if view is None or view.value is None or not numeric(view.value):
        return None
    return view.value


def _grad_label(context: _Context) -> str:
    view = context.grad
    if view.numel == 1:
        return view_number(view)
    return f"grad {_spelled(view)}"


def _spelled(view: TensorView) -> str:
    return view_number(view) if view.value is not None and view.numel <= SPELLED else f"[{shape_text(view.shape)}]"


def _operand(context: _Context, key: str, name: str | None) -> str:
    """A saved tensor as a factor: `var_2 (4)`, `(-4)`, `w [[0.5, 2]]`, `mat2 [3×4]`."""
    view = context.saved[key]
    assert view is not None
    if view.numel == 1:
        number = view_number(view)
        return f"{name} ({number})" if name else factor(number)
    return f"{name or key} {_spelled(view)}"


def _compute(function: Callable[..., Any], *views: TensorView | None) -> Any:
    values = [_values(view) for view in views]
    if any(value is None for value in values):
        return None
    try:
        return function(*values)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, IndexError):
        return None


def _times(a: Any, b: Any) -> Any:
    return elementwise(lambda x, y: x * y, a, b)


def _number_attr(context: _Context, key: str, default: float | None = None) -> float | None:
    text = context.attrs.get(key)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        return None


def _scaled(context: _Context, scale: float | None) -> Rule | None:
    """grad × a constant (Add, Sub, Neg, Rsub): the grad passes on, scaled."""
    if scale is None:
        return None
    computed = _compute(lambda g: elementwise(lambda x: x * scale, g), context.grad)
    return f"{_grad_label(context)} × {factor(short_number(scale))}", computed


@_rule("AddBackward0", "AddBackward1")
def _add(context: _Context, slot: int) -> Rule | None:
    return _scaled(context, 1.0 if slot == 0 else _number_attr(context, "alpha", 1.0))


@_rule("SubBackward0", "SubBackward1")
def _sub(context: _Context, slot: int) -> Rule | None:
    alpha = _number_attr(context, "alpha", 1.0)
    return _scaled(context, 1.0 if slot == 0 else None if alpha is None else -alpha)


@_rule("RsubBackward0", "RsubBackward1")
def _rsub(context: _Context, slot: int) -> Rule | None:
    # rsub(self, other) = other - alpha × self: self gets -alpha × grad, other the grad itself.
    alpha = _number_attr(context, "alpha", 1.0)
    return _scaled(context, (None if alpha is None else -alpha) if slot == 0 else 1.0)


@_rule("NegBackward0")
def _neg(context: _Context, slot: int) -> Rule | None:
    return _scaled(context, -1.0)


@_rule("MulBackward0")
def _mul(context: _Context, slot: int) -> Rule | None:
    # d(self × other)/d self = other, and the other way round.
    key = "other" if slot == 0 else "self"
    if not context.has(key):
        return None
    name = context.slot_names.get(1 if slot == 0 else 0)
    computed = _compute(_times, context.grad, context.saved[key])
    return f"{_grad_label(context)} × {_operand(context, key, name)}", computed


@_rule("DivBackward0")
def _div(context: _Context, slot: int) -> Rule | None:
    other_name = context.slot_names.get(1)
    if slot == 0:
        if not context.has("other"):
            return None
        computed = _compute(lambda g, o: elementwise(lambda x, y: x / y, g, o), context.grad, context.saved["other"])
        return f"{_grad_label(context)} / {_operand(context, 'other', other_name)}", computed
    if not context.has("self", "other"):
        return None
    computed = _compute(
        lambda g, s, o: elementwise(lambda x, y, z: -x * y / (z * z), g, s, o),
        context.grad,
        context.saved["self"],
        context.saved["other"],
    )
    self_text = _operand(context, "self", context.slot_names.get(0))
    other_text = _operand(context, "other", other_name)
    return f"{_grad_label(context)} × (-{self_text} / {other_text}²)", computed


_SUPERSCRIPTS = {2: "²", 3: "³", 4: "⁴"}


def _power_text(base: str, power: float) -> str:
    if power == 1:
        return base
    if power == int(power) and int(power) in _SUPERSCRIPTS:
        return base + _SUPERSCRIPTS[int(power)]
    return f"{base}^{factor(short_number(power))}"


@_rule("PowBackward0")
def _pow(context: _Context, slot: int) -> Rule | None:
    # d(self ** p)/d self = p × self ** (p - 1)
    exponent = _number_attr(context, "exponent")
    if exponent is None or not context.has("self"):
        return None
    power = exponent - 1
    computed = _compute(lambda g, s: elementwise(lambda x, y: x * exponent * y**power, g, s), context.grad, context.saved["self"])
    base = _operand(context, "self", context.slot_names.get(0))
    text = f"{_grad_label(context)} × {factor(short_number(exponent))}"
    if power != 0:
        text += f" × {_power_text(base, power)}"
    return text, computed


@_rule("PowBackward1")
def _pow_tensor(context: _Context, slot: int) -> Rule | None:
    # self ** other: self gets grad × other × self ** (other - 1), other gets grad × result × ln(self)
    if slot == 0:
        if not context.has("self", "other"):
            return None
        computed = _compute(
            lambda g, s, o: elementwise(lambda x, y, z: x * z * y ** (z - 1), g, s, o),
            context.grad,
            context.saved["self"],
            context.saved["other"],
        )
        other = _operand(context, "other", context.slot_names.get(1))
        base = _operand(context, "self", context.slot_names.get(0))
        return f"{_grad_label(context)} × {other} × {base}^({other} - 1)", computed
    if not context.has("self", "result"):
        return None
    computed = _compute(
        lambda g, s, r: elementwise(lambda x, y, z: x * z * math.log(y), g, s, r),
        context.grad,
        context.saved["self"],
        context.saved["result"],
    )
    result = _operand(context, "result", context.output_name)
    base = _operand(context, "self", context.slot_names.get(0))
    return f"{_grad_label(context)} × {result} × ln {base}", computed


@_rule("ExpBackward0")
def _exp(context: _Context, slot: int) -> Rule | None:
    # d exp(x)/dx = exp(x), which is the node's result
    if not context.has("result"):
        return None
    computed = _compute(_times, context.grad, context.saved["result"])
    return f"{_grad_label(context)} × {_operand(context, 'result', context.output_name or 'exp(x)')}", computed


@_rule("LogBackward0")
def _log(context: _Context, slot: int) -> Rule | None:
    # d ln(x)/dx = 1 / x
    if not context.has("self"):
        return None
    computed = _compute(lambda g, s: elementwise(lambda x, y: x / y, g, s), context.grad, context.saved["self"])
    return f"{_grad_label(context)} / {_operand(context, 'self', context.slot_names.get(0))}", computed


def _sizes(context: _Context) -> tuple[int, ...] | None:
    text = context.attrs.get("self_sym_sizes")
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.strip("()[] ").split(",") if part.strip())
    except ValueError:
        return None


def _filled(shape: tuple[int, ...], number: float) -> Any:
    if not shape:
        return number
    return tuple(_filled(shape[1:], number) for _ in range(shape[0]))


@_rule("SumBackward0")
def _sum(context: _Context, slot: int) -> Rule | None:
    # Every element added into the sum gets the sum's grad.
    shape = _sizes(context)
    grad = _values(context.grad)
    if shape is None or context.grad.numel != 1:
        return None
    computed = None if grad is None else _filled(shape, flat(grad)[0])
    return f"{_grad_label(context)} to each of the {shape_text(shape)} elements", computed


@_rule("MeanBackward0")
def _mean(context: _Context, slot: int) -> Rule | None:
    # Every element of a mean of N gets the mean's grad / N.
    shape = _sizes(context)
    count = _number_attr(context, "self_sym_numel")
    grad = _values(context.grad)
    if shape is None or not count or context.grad.numel != 1:
        return None
    computed = None if grad is None else _filled(shape, flat(grad)[0] / count)
    return f"{_grad_label(context)} / {short_number(int(count))} to each of the {shape_text(shape)} elements", computed


def _matrix(context: _Context, key: str, name: str | None, transposed: bool = False) -> str:
    view = context.saved[key]
    assert view is not None
    label = (name or key) + (".T" if transposed else "")
    shape = tuple(reversed(view.shape)) if transposed else view.shape
    if view.value is not None and view.numel <= SPELLED and transposed:
        return f"{label} {values_text(transpose(view.value))}"
    if view.value is not None and view.numel <= SPELLED:
        return f"{label} {view_number(view)}"
    return f"{label} [{shape_text(shape)}]"


def _alpha_prefix(context: _Context, key: str) -> tuple[str, float] | None:
    number = _number_attr(context, key, 1.0)
    if number is None:
        return None
    return ("" if number == 1 else f"{short_number(number)} × "), number


def _grad_matrix(context: _Context) -> str:
    view = context.grad
    return f"grad {_spelled(view)}"


@_rule("MmBackward0", "AddmmBackward0")
def _matmul(context: _Context, slot: int) -> Rule | None:
    # mm(A, B): A gets grad @ B.T, B gets A.T @ grad; addmm(bias, A, B) adds bias (beta × grad, summed to its shape).
    addmm = "mat1" in context.saved or "mat1" in context.attrs
    left, right = ("mat1", "mat2") if addmm else ("self", "mat2")
    left_slot, right_slot = (1, 2) if addmm else (0, 1)
    if addmm and slot == 0:
        beta = _alpha_prefix(context, "beta")
        if beta is None:
            return None
        prefix, number = beta

        def bias(g: Any) -> Any:
            scaled = elementwise(lambda x: x * number, g)
            sent = context.sent
            if sent is not None and tuple(sent.shape) != tuple(context.grad.shape) and len(sent.shape) == 1:
                return tuple(sum(column) for column in transpose(scaled))  # a bias row broadcast over the batch
            return scaled

        summed = "" if context.sent is None or tuple(context.sent.shape) == tuple(context.grad.shape) else " summed over rows"
        return f"{prefix}{_grad_matrix(context)}{summed}", _compute(bias, context.grad)
    alpha = _alpha_prefix(context, "alpha") if addmm else ("", 1.0)
    if alpha is None:
        return None
    prefix, number = alpha
    if slot == left_slot:
        if not context.has(right):
            return None
        computed = _compute(lambda g, b: elementwise(lambda x: x * number, matmul(g, transpose(b))), context.grad, context.saved[right])
        text = f"{prefix}{_grad_matrix(context)} @ {_matrix(context, right, context.slot_names.get(right_slot), True)}"
        return text, computed
    if slot == right_slot:
        if not context.has(left):
            return None
        computed = _compute(lambda g, a: elementwise(lambda x: x * number, matmul(transpose(a), g)), context.grad, context.saved[left])
        text = f"{prefix}{_matrix(context, left, context.slot_names.get(left_slot), True)} @ {_grad_matrix(context)}"
        return text, computed
    return None


@_rule("ReluBackward0")
def _relu(context: _Context, slot: int) -> Rule | None:
    # relu passes the grad where its output is positive, 0 elsewhere
    if not context.has("result"):
        return None
    computed = _compute(lambda g, r: elementwise(lambda x, y: x if y > 0 else 0.0, g, r), context.grad, context.saved["result"])
    return f"{_grad_label(context)} × ({_operand(context, 'result', context.output_name)} > 0)", computed


@_rule("SigmoidBackward0")
def _sigmoid(context: _Context, slot: int) -> Rule | None:
    # σ'(x) = σ(x) × (1 - σ(x)), and σ(x) is the node's result
    if not context.has("result"):
        return None
    computed = _compute(lambda g, r: elementwise(lambda x, y: x * y * (1 - y), g, r), context.grad, context.saved["result"])
    result = _operand(context, "result", context.output_name)
    return f"{_grad_label(context)} × {result} × (1 - {result})", computed


@_rule("TanhBackward0")
def _tanh(context: _Context, slot: int) -> Rule | None:
    # tanh'(x) = 1 - tanh(x)², and tanh(x) is the node's result
    if not context.has("result"):
        return None
    computed = _compute(lambda g, r: elementwise(lambda x, y: x * (1 - y * y), g, r), context.grad, context.saved["result"])
    return f"{_grad_label(context)} × (1 - {_operand(context, 'result', context.output_name)}²)", computed


# torch's Reduction enum, as the node's attrs print it
_REDUCTIONS = {"0": "none", "1": "mean", "2": "sum"}


@_rule("MseLossBackward0")
def _mse(context: _Context, slot: int) -> Rule | None:
    # mean((self - target)²): self gets grad × 2 × (self - target) / N; target the negative of that
    reduction = _REDUCTIONS.get(context.attrs.get("reduction", ""))
    if reduction is None or not context.has("self", "target"):
        return None
    self_view = context.saved["self"]
    assert self_view is not None
    count = self_view.numel if reduction == "mean" else 1
    sign = 1.0 if slot == 0 else -1.0
    computed = _compute(
        lambda g, s, t: elementwise(lambda x, y, z: sign * x * 2 * (y - z) / count, g, s, t),
        context.grad,
        context.saved["self"],
        context.saved["target"],
    )
    difference = f"{_operand(context, 'self', context.slot_names.get(0))} - {_operand(context, 'target', context.slot_names.get(1))}"
    text = f"{_grad_label(context)} × {'2' if slot == 0 else '(-2)'} × ({difference})"
    if count != 1:
        text += f" / {count}"
    return text, computed


def known_rule(name: str) -> bool:
    """True when gradstep can state this node's local derivative."""
    return name in _RULES


def edge_grads(event: NodeEvent, graph: Graph | None) -> list[EdgeGrad]:
    """Per input edge that got a grad: where it goes, what torch sent, and the rule when it is known and checks."""
    node = graph.node(event.node_id) if graph is not None else None
    names = tensor_names(graph) if graph is not None else {}
    targets = slot_nodes(event, node, graph) if node is not None and graph is not None else {}
    slot_names = {slot: input_name(next_node, names) for slot, next_node in targets.items()}
    context = None
    if node is not None and len(event.grad_outputs) == 1 and event.grad_outputs[0] is not None:
        context = _Context(
            grad=event.grad_outputs[0],
            saved={key.removeprefix("_saved_"): view for key, view in node.saved},
            attrs={key: text for key, text in node.attrs},
            slot_names=slot_names,
            output_name=names.get(node.id),
            sent=None,
        )
    edges = []
    for slot, sent in enumerate(event.grad_inputs):
        if sent is None:
            continue  # an input that needs no grad
        next_node = targets.get(slot)
        target = slot_names.get(slot) or (next_node.name if next_node is not None else f"input {slot}")
        edges.append(EdgeGrad(slot, target, sent, _checked_rule(event.name, context, slot, sent)))
    return edges


def _checked_rule(name: str, context: _Context | None, slot: int, sent: TensorView) -> str | None:
    function = _RULES.get(name)
    if function is None or context is None:
        return None
    context.sent = sent
    try:
        rule = function(context, slot)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, IndexError, KeyError):
        return None
    if rule is None:
        return None
    text, computed = rule
    recorded = _values(sent)
    if computed is not None and recorded is not None:
        # A rule whose numbers do not give torch's grad is not shown (an op variant we read wrongly).
        return text if close(computed, recorded) else None
    if computed is None and recorded is not None and sent.numel <= SPELLED and context.small:
        return None  # all numbers kept, yet the rule could not be computed: do not state it
    return text
