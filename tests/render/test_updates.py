"""Each optimizer sub-step's arithmetic gives the value torch wrote into the parameter (real recordings)."""

from __future__ import annotations

import math

import pytest

from tests.render.arithmetic import element, evaluate, width
from tests.render.recordings import lesson_03, recorded, step_at
from tui.render.numbers import flat
from tui.render.updates import update_lines
from tui.steps.model import ParamUpdate

WRITTEN_OUT = {"SGD", "Adam", "AdamW"}


def _updates() -> list:
    return [step for step in recorded("optimizers.py") if step.update is not None]


def test_lesson_03_first_update_reads_as_arithmetic() -> None:
    step = step_at(lesson_03(), "optimizer")
    assert update_lines(step) == ["my_sgd.step() updated var_1 (SGD, lr 0.003)", "var_1: 3.0000 - 0.003 × (-24.0000) = 3.0720"]


def test_every_optimizer_of_the_script_was_recorded_with_its_state() -> None:
    kinds = {step.update.kind for step in _updates()}
    assert kinds == WRITTEN_OUT | {"RMSprop"}
    momentum = [step.update for step in _updates() if step.update.hyperparameter("momentum")]
    assert all(dict(update.state_after).get("momentum_buffer") is not None for update in momentum)


def _check_line(line: str) -> int:
    """Evaluate `… = numbers = result` (or `param: numbers = result`); return how many were checked."""
    head, _, result = line.rpartition(" = ")
    expression = head.split(": ", 1)[1] if ": " in head and " = " not in head else head.rpartition(" = ")[2]
    checked = 0
    for index in range(width(result)):
        value = evaluate(element(expression, index))
        if value is None:
            return 0  # a symbolic term (`buf = d`): nothing to evaluate
        shown = float(element(result, index).strip("()"))
        assert math.isclose(value, shown, rel_tol=3e-3, abs_tol=2e-4), line
        checked += 1
    return checked


@pytest.mark.parametrize("kind", sorted(WRITTEN_OUT))
def test_each_term_evaluates_and_the_step_gives_what_torch_computed(kind: str) -> None:
    steps = [step for step in _updates() if step.update.kind == kind]
    assert steps
    for step in steps:
        update: ParamUpdate = step.update
        lines = update_lines(step)
        final = lines[-1]
        assert final.startswith(f"{update.param}: "), lines  # the rule was stated, not the fallback
        assert sum(_check_line(line) for line in lines[1:] if " = " in line) > 0
        shown = final.rpartition(" = ")[2]
        after = [float(number) for number in flat(update.after.value)]
        for index, number in enumerate(after):
            assert math.isclose(float(element(shown, index).strip("()")), number, abs_tol=1e-4, rel_tol=1e-3)


def test_sgd_with_momentum_shows_buffer_then_step_and_nesterov_its_look_ahead() -> None:
    momentum = [step for step in _updates() if step.update.kind == "SGD" and step.update.hyperparameter("momentum")]
    texts = ["\n".join(update_lines(step)) for step in momentum]
    assert any("momentum buffer (first step)" in text for text in texts)
    assert any("momentum buffer: buf = 0.9 × buf + (1 - 0.1) × d" in text for text in texts)
    assert any("nesterov: d = d + 0.9 × buf" in text for text in texts)
    assert all("weight decay: d = grad + " in text for text in texts)


def test_adam_shows_m_v_bias_corrections_and_amsgrad_max() -> None:
    texts = ["\n".join(update_lines(step)) for step in _updates() if step.update.kind in ("Adam", "AdamW")]
    assert all("m = 0.9 × m" in text and "v = 0.999 × v" in text and "bias correction: m̂" in text for text in texts)
    assert any("v_max = max(v_max, v)" in text for text in texts)
    assert any("decoupled weight decay" in text for text in texts)


def test_another_optimizer_shows_before_grad_after_and_its_hyperparameters() -> None:
    step = next(step for step in _updates() if step.update.kind == "RMSprop")
    lines = update_lines(step)
    assert lines[1] == "scalar: 0.3000 → 0.2000"
    assert lines[2].startswith("  grad ")
    assert "lr 0.01" in lines[3] and "alpha 0.99" in lines[3]


def test_a_recording_made_before_the_state_was_captured_still_shows_before_grad_after() -> None:
    from dataclasses import replace

    step = step_at(lesson_03(), "optimizer")
    data = step.update.to_json()
    for key in ("kind", "group", "hyper", "state_before", "state_after"):
        data.pop(key)
    old = replace(step, update=ParamUpdate.from_json(data))
    assert update_lines(old) == ["my_sgd.step() updated var_1", "var_1: 3.0000 → 3.0720", "  grad -24.0000"]
