"""An optimizer sub-step's arithmetic, from the recorded hyperparameters and state: `var_1: 3.0000 - 0.003 × (-24.0000) = 3.0720`.

SGD (momentum, dampening, nesterov, weight decay, maximize) and Adam / AdamW
(amsgrad, maximize) are written term by term: numbers for parameters of up to
SPELLED elements, symbols and summaries beyond. Every rule is first computed here
from the recorded inputs and compared with what torch wrote into the parameter;
when they disagree, or the optimizer is another one, the sub-step shows before,
grad, after and the hyperparameters, never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from tui.render.formatting import format_number, format_summary, shape_text
from tui.render.numbers import SPELLED, close, flat, hyper_number, is_number
from tui.steps.model import ParamUpdate, Step, TensorView

# Settings of a param group that say how torch runs the step, not what it computes.
_MECHANICS = {"foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay", "initial_lr"}

Numbers = list[float]


def precise(number: Any) -> str:
    """A parameter-side number: 4 decimals as the course prints them, 4 digits for small ones."""
    if is_number(number) and not isinstance(number, int) and 1e-4 <= abs(number) < 0.1:
        return f"{number:.4g}"
    return format_number(number)


def _nest(values: Numbers, shape: tuple[int, ...]) -> Any:
    if len(shape) <= 1:
        return values
    step = len(values) // shape[0]
    return [_nest(values[index * step : (index + 1) * step], shape[1:]) for index in range(shape[0])]


def _text(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_text(item) for item in values) + "]"
    return precise(values)


class _Writer:
    """Writes numbers of one parameter's shape: a number, or a short bracketed list."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def __call__(self, values: Numbers, *, as_factor: bool = False) -> str:
        if not self.shape and len(values) == 1:
            text = precise(values[0])
            return f"({text})" if as_factor and text.startswith("-") else text
        return _text(_nest(values, self.shape))


def _numbers(view: TensorView | None) -> Numbers | None:
    if view is None or view.value is None:
        return None
    values = flat(view.value)
    return [float(item) for item in values] if all(map(is_number, values)) else None


def _state(pairs: Sequence[tuple[str, TensorView]], key: str) -> TensorView | None:
    for name, view in pairs:
        if name == key:
            return view
    return None


def _map(function: Callable[..., float], *columns: Numbers) -> Numbers:
    return [function(*items) for items in zip(*columns)]


def _summary(view: TensorView | None) -> str:
    if view is None:
        return "None"
    if view.summary is not None:
        return format_summary(view.summary, short=True)
    numbers = _numbers(view)
    if numbers is None:
        return "?"
    head = ", ".join(precise(number) for number in numbers[:4])
    return f"{shape_text(view.shape)} [{head}{', …' if len(numbers) > 4 else ''}]"


def relevant_hyper(update: ParamUpdate) -> list[tuple[str, Any]]:
    """The hyperparameters that change the numbers (lr, momentum, betas, ...), not the mechanics."""
    # Settings left at "off" (False, 0) are not shown: plain SGD reads "lr 0.003".
    return [
        (key, value)
        for key, value in update.hyper
        if key not in _MECHANICS and value is not None and value is not False and not (is_number(value) and value == 0)
    ]


def hyper_text(update: ParamUpdate) -> str:
    parts = []
    for key, value in relevant_hyper(update):
        shown = "(" + ", ".join(hyper_number(item) for item in value) + ")" if isinstance(value, tuple) else hyper_number(value)
        parts.append(f"{key} {shown}")
    return ", ".join(parts)


def plain_lines(update: ParamUpdate) -> list[str]:
    """Before, grad and after, and the hyperparameters: for optimizers without a written rule."""
    from tui.render.formatting import value_text  # the one short wording of a value

    grad = "None" if update.grad is None else value_text(update.grad)
    lines = [f"{update.param}: {value_text(update.before)} → {value_text(update.after)}", f"  grad {grad}"]
    settings = hyper_text(update)
    if settings:
        lines.append(f"  {update.kind or update.optimizer}: {settings}")
    return lines


def _hyper_number(update: ParamUpdate, key: str, default: float) -> float | None:
    value = update.hyperparameter(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _sgd(update: ParamUpdate) -> list[str] | None:
    lr = _hyper_number(update, "lr", math.nan)
    momentum = _hyper_number(update, "momentum", 0.0)
    dampening = _hyper_number(update, "dampening", 0.0)
    decay = _hyper_number(update, "weight_decay", 0.0)
    nesterov = bool(update.hyperparameter("nesterov", False))
    maximize = bool(update.hyperparameter("maximize", False))
    if lr is None or math.isnan(lr) or momentum is None or dampening is None or decay is None:
        return None
    before, grad, after = _numbers(update.before), _numbers(update.grad), _numbers(update.after)
    buffer_before = _state(update.state_before, "momentum_buffer")
    if momentum and buffer_before is None and _state(update.state_after, "momentum_buffer") is None:
        return None  # momentum without a recorded buffer: an old recording
    spelled = update.before.numel <= SPELLED and None not in (before, grad, after)
    write = _Writer(update.before.shape)
    name = update.param
    lines: list[str] = []
    d_name = "grad"
    if spelled:
        assert before is not None and grad is not None and after is not None
        d = grad
        if maximize:
            d = _map(lambda x: -x, d)
            lines.append(f"maximize: d = -grad = {write(d)}")
            d_name = "d"
        if decay:
            new = _map(lambda g, p: g + decay * p, d, before)
            lines.append(
                f"weight decay: d = {d_name} + {hyper_number(decay)} × {name} = {write(d)} + {hyper_number(decay)} × {write(before, as_factor=True)} = {write(new)}"
            )
            d, d_name = new, "d"
        if momentum:
            previous = _numbers(buffer_before) if buffer_before is not None else None
            if buffer_before is None:
                buffer = list(d)
                lines.append(f"momentum buffer (first step): buf = {d_name} = {write(buffer)}")
            elif previous is None:
                return None
            else:
                buffer = _map(lambda b, g: momentum * b + (1 - dampening) * g, previous, d)
                lines.append(
                    f"momentum buffer: buf = {hyper_number(momentum)} × buf + (1 - {hyper_number(dampening)}) × {d_name}"
                    f" = {hyper_number(momentum)} × {write(previous, as_factor=True)} + {hyper_number(1 - dampening)} × {write(d, as_factor=True)} = {write(buffer)}"
                )
            recorded = _numbers(_state(update.state_after, "momentum_buffer"))
            if recorded is not None and not close(tuple(buffer), tuple(recorded)):
                return None
            if nesterov:
                new = _map(lambda g, b: g + momentum * b, d, buffer)
                lines.append(f"nesterov: d = {d_name} + {hyper_number(momentum)} × buf = {write(d)} + {hyper_number(momentum)} × {write(buffer, as_factor=True)} = {write(new)}")
                d, d_name = new, "d"
            else:
                d, d_name = buffer, "buf"
        computed = _map(lambda p, g: p - lr * g, before, d)
        if not close(tuple(computed), tuple(after)):
            return None
        lines.append(f"{name}: {write(before)} - {hyper_number(lr)} × {write(d, as_factor=True)} = {write(after)}")
        return lines
    # Too big to spell out: the rule in symbols, the tensors as summaries.
    if maximize:
        lines.append("maximize: d = -grad")
        d_name = "d"
    if decay:
        lines.append(f"weight decay: d = {d_name} + {hyper_number(decay)} × {name}")
        d_name = "d"
    if momentum:
        if buffer_before is None:
            lines.append(f"momentum buffer (first step): buf = {d_name}")
        else:
            lines.append(f"momentum buffer: buf = {hyper_number(momentum)} × buf + (1 - {hyper_number(dampening)}) × {d_name}")
        if nesterov:
            lines.append(f"nesterov: d = {d_name} + {hyper_number(momentum)} × buf")
        else:
            d_name = "buf"
    lines.append(f"{name} ← {name} - {hyper_number(lr)} × {d_name}")
    lines.extend(_summaries(update))
    return lines


def _summaries(update: ParamUpdate) -> list[str]:
    return [f"  before {_summary(update.before)}", f"  grad   {_summary(update.grad)}", f"  after  {_summary(update.after)}"]


def _adam(update: ParamUpdate) -> list[str] | None:
    lr = _hyper_number(update, "lr", math.nan)
    eps = _hyper_number(update, "eps", 1e-8)
    decay = _hyper_number(update, "weight_decay", 0.0)
    betas = update.hyperparameter("betas")
    amsgrad = bool(update.hyperparameter("amsgrad", False))
    maximize = bool(update.hyperparameter("maximize", False))
    decoupled = update.kind == "AdamW" or bool(update.hyperparameter("decoupled_weight_decay", False))
    if lr is None or math.isnan(lr) or eps is None or decay is None:
        return None
    if not (isinstance(betas, tuple) and len(betas) == 2 and all(map(is_number, betas))):
        return None
    beta1, beta2 = float(betas[0]), float(betas[1])
    step_view = _state(update.state_after, "step")
    steps = _numbers(step_view)
    if not steps:
        return None
    t = int(steps[0])
    name = update.param
    b1, b2, e = hyper_number(beta1), hyper_number(beta2), hyper_number(eps)
    before, grad, after = _numbers(update.before), _numbers(update.grad), _numbers(update.after)
    m_before = _state(update.state_before, "exp_avg")
    v_before = _state(update.state_before, "exp_avg_sq")
    spelled = update.before.numel <= SPELLED and None not in (before, grad, after)
    lines: list[str] = []
    g_name = "grad"
    if not spelled:
        if maximize:
            lines.append("maximize: g = -grad")
            g_name = "g"
        if decay and decoupled:
            lines.append(f"decoupled weight decay: {name} ← {name} × (1 - {hyper_number(lr)} × {hyper_number(decay)})")
        elif decay:
            lines.append(f"weight decay: g = {g_name} + {hyper_number(decay)} × {name}")
            g_name = "g"
        lines.append(f"step t = {t}")
        lines.append(f"m = {b1} × m + (1 - {b1}) × {g_name}")
        lines.append(f"v = {b2} × v + (1 - {b2}) × {g_name}²")
        if amsgrad:
            lines.append("v_max = max(v_max, v)")
        v_name = "v_max" if amsgrad else "v"
        lines.append(f"m̂ = m / (1 - {b1}^{t}),  v̂ = {v_name} / (1 - {b2}^{t})")
        lines.append(f"{name} ← {name} - {hyper_number(lr)} × m̂ / (√v̂ + {e})")
        lines.extend(_summaries(update))
        return lines
    assert before is not None and grad is not None and after is not None
    write = _Writer(update.before.shape)
    zeros = [0.0] * len(before)
    m_previous = zeros if m_before is None else _numbers(m_before)
    v_previous = zeros if v_before is None else _numbers(v_before)
    if m_previous is None or v_previous is None:
        return None
    g = grad
    if maximize:
        g = _map(lambda x: -x, g)
        lines.append(f"maximize: g = -grad = {write(g)}")
        g_name = "g"
    param = before
    if decay and decoupled:
        param = _map(lambda p: p * (1 - lr * decay), before)
        lines.append(
            f"decoupled weight decay: {name} × (1 - {hyper_number(lr)} × {hyper_number(decay)}) = {write(before, as_factor=True)} × {hyper_number(1 - lr * decay)} = {write(param)}"
        )
    elif decay:
        new = _map(lambda x, p: x + decay * p, g, before)
        lines.append(f"weight decay: g = {g_name} + {hyper_number(decay)} × {name} = {write(g)} + {hyper_number(decay)} × {write(before, as_factor=True)} = {write(new)}")
        g, g_name = new, "g"
    m = _map(lambda old, x: beta1 * old + (1 - beta1) * x, m_previous, g)
    v = _map(lambda old, x: beta2 * old + (1 - beta2) * x * x, v_previous, g)
    for key, computed in (("exp_avg", m), ("exp_avg_sq", v)):
        recorded = _numbers(_state(update.state_after, key))
        if recorded is None or not close(tuple(computed), tuple(recorded)):
            return None
    lines.append(f"step t = {t}")
    lines.append(f"m = {b1} × m + {hyper_number(1 - beta1)} × {g_name} = {b1} × {write(m_previous, as_factor=True)} + {hyper_number(1 - beta1)} × {write(g, as_factor=True)} = {write(m)}")
    lines.append(f"v = {b2} × v + {hyper_number(1 - beta2)} × {g_name}² = {b2} × {write(v_previous)} + {hyper_number(1 - beta2)} × {write(g, as_factor=True)}² = {write(v)}")
    v_used, v_label = v, "v"
    if amsgrad:
        old_max = _state(update.state_before, "max_exp_avg_sq")
        previous_max = zeros if old_max is None else _numbers(old_max)
        if previous_max is None:
            return None
        v_used = _map(max, previous_max, v)
        lines.append(f"v_max = max(v_max, v) = max({write(previous_max)}, {write(v)}) = {write(v_used)}")
        v_label = "v_max"
    correction1, correction2 = 1 - beta1**t, 1 - beta2**t
    m_hat = _map(lambda x: x / correction1, m)
    v_hat = _map(lambda x: x / correction2, v_used)
    lines.append(f"bias correction: m̂ = m / (1 - {b1}^{t}) = {write(m, as_factor=True)} / {precise(correction1)} = {write(m_hat)}")
    lines.append(f"bias correction: v̂ = {v_label} / (1 - {b2}^{t}) = {write(v_used)} / {precise(correction2)} = {write(v_hat)}")
    computed = _map(lambda p, mh, vh: p - lr * mh / (math.sqrt(vh) + eps), param, m_hat, v_hat)
    if not close(tuple(computed), tuple(after)):
        return None
    lines.append(f"{name}: {write(param)} - {hyper_number(lr)} × {write(m_hat, as_factor=True)} / (√{write(v_hat)} + {e}) = {write(after)}")
    return lines


_RULES: dict[str, Callable[[ParamUpdate], list[str] | None]] = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam}


def update_lines(step: Step) -> list[str]:
    """The sub-step in words: a headline, then the arithmetic (or before, grad, after)."""
    update = step.update
    if update is None:
        return []
    headline = f"{update.optimizer}.step() updated {update.param}"
    if update.kind:
        headline += f" ({update.kind}{', ' + hyper_text(update) if hyper_text(update) else ''})"
    rule = _RULES.get(update.kind or "")
    lines = None
    if rule is not None and update.grad is not None:
        try:
            lines = rule(update)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError, IndexError):
            lines = None
    if lines is None:
        return [headline, *plain_lines(update)]
    return [headline, *lines]
