"""Every lesson, recorded step by step by the engine: it reaches its end without an exception under the
default step cap, and the numbers its narrative promises are the ones the recording shows.

Each lesson is recorded once per module (every step, as `gradstep record` does). Recording 05, 06 and
08 takes the longest (their training loops); they are marked `slow`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.conftest import LESSON_IDS
from tests.engine.drive import grads, values
from tui.engine.session import Session
from tui.lessons import find_lesson
from tui.steps.model import Step

SLOW = {"05-my-network", "06-linear-regression", "08-challenge"}


@pytest.fixture(scope="module")
def recorded():
    """record(lesson_id) -> (steps, result): every step of the lesson, recorded once per module."""
    cache: dict[str, tuple[list[Step], Any]] = {}

    def record(lesson_id: str) -> tuple[list[Step], Any]:
        if lesson_id not in cache:
            steps: list[Step] = []
            result = Session(find_lesson(lesson_id).path, on_step=steps.append, mode="record").run()
            cache[lesson_id] = (steps, result)
        return cache[lesson_id]

    return record


def line_of(lesson_id: str, code: str) -> int:
    """The 1-based number of the first line of the lesson's code (not its narrative) that holds `code`."""
    lines = find_lesson(lesson_id).path.read_text(encoding="utf-8").splitlines()
    return next(
        number
        for number, line in enumerate(lines, start=1)
        if code in line and not line.lstrip().startswith("#")
    )


def backward_passes(steps: list[Step]) -> list[list[Step]]:
    """The backward and accumulate sub-steps, grouped into one list per backward pass."""
    passes: list[list[Step]] = []
    previous_was_node = False
    for step in steps:
        is_node = step.kind in ("backward", "accumulate")
        if is_node and not previous_was_node:
            passes.append([])
        if is_node:
            passes[-1].append(step)
        previous_was_node = is_node
    return passes


@pytest.mark.parametrize(
    "lesson_id",
    [pytest.param(lesson_id, marks=[pytest.mark.slow] * (lesson_id in SLOW)) for lesson_id in LESSON_IDS],
)
def test_lesson_records_to_its_end_without_an_exception(recorded, lesson_id):
    steps, result = recorded(lesson_id)
    assert result.status == "finished", result
    kinds = {step.kind for step in steps}
    assert "exception" not in kinds and "limit" not in kinds
    assert steps[-1].kind == "end"
    assert [step.index for step in steps] == list(range(len(steps)))


def test_01_tensors_shows_sums_broadcasts_products_and_views(recorded):
    end = recorded("01-tensors")[0][-1]
    assert values(end, "scalar_sum") == pytest.approx(7.3)
    assert values(end, "matrix_sum") == ((3, 3, 5), (4, 10, 8))
    assert end.tensors["vector_tensor"].dtype.endswith("int64")
    assert end.tensors["grid_plus_row"].shape == (5, 3)
    assert end.tensors["column_plus_row"].shape == (3, 3)
    assert values(end, "matrix_product") == ((19.0, 22.0), (43.0, 50.0))
    assert values(end, "elementwise_product") == ((5.0, 12.0), (21.0, 32.0))
    assert end.tensors["four_by_two"].shape == (4, 2)
    assert values(end, "transposed_flat") == (0, 4, 1, 5, 2, 6, 3, 7)


def test_02_autograd_gives_grads_4_and_3_through_mulbackward0(recorded):
    steps, _ = recorded("02-autograd")
    end = steps[-1]
    assert end.tensors["my_latent_value"].grad_fn == "MulBackward0"
    assert values(end, "my_latent_value") == 12.0
    assert values(end, "diff") == 5.0
    assert (values(end, "var_1"), values(end, "var_2")) == (3.0, 4.0)  # backprop changes no value
    assert (grads(end, "var_1"), grads(end, "var_2")) == (4.0, 3.0)
    [only_pass] = backward_passes(steps)
    assert [step.node.name for step in only_pass[:2]] == ["SubBackward0", "MulBackward0"]


def test_03_sgd_to_15_one_round_then_a_hundred(recorded):
    steps, _ = recorded("03-sgd-to-15")
    first_pass = backward_passes(steps)[0]
    assert [step.node.name for step in first_pass[:3]] == ["PowBackward0", "RsubBackward1", "MulBackward0"]
    assert [step.kind for step in first_pass[3:]] == ["accumulate", "accumulate"]
    assert values(first_pass[0], "loss") == 9.0  # the seed notes call it 3
    after_backprop = first_pass[-1]
    assert (grads(after_backprop, "var_1"), grads(after_backprop, "var_2")) == (-24.0, -18.0)

    updates = [step for step in steps if step.kind == "optimizer"]
    assert len(updates) == 2 * 101
    after_first_round = updates[1]  # the sub-step for var_2
    assert values(after_first_round, "var_1") == pytest.approx(3.0720, abs=5e-5)
    assert values(after_first_round, "var_2") == pytest.approx(4.0540, abs=5e-5)
    first_reset = next(step for step in steps if step.kind == "reset")
    assert grads(first_reset, "var_1") is None and grads(first_reset, "var_2") is None

    end = steps[-1]
    assert values(end, "var_1") == pytest.approx(3.4505, abs=5e-5)
    assert values(end, "var_2") == pytest.approx(4.3472, abs=5e-5)


def test_04_accumulation_doubles_the_grad_until_zero_grad(recorded):
    steps, _ = recorded("04-accumulation")
    accumulations_into_x = [
        step.node for step in steps if step.kind == "accumulate" and step.node.leaf == "x"
    ]
    first, second, after_reset = accumulations_into_x[:3]
    assert first.grad_after.value == (1.0, 1.0, 1.0)
    assert second.grad_before.value == (1.0, 1.0, 1.0)
    assert second.grad_after.value == (2.0, 2.0, 2.0)
    assert after_reset.grad_after.value == (1.0, 1.0, 1.0)

    second_step = next(step for step in steps if step.kind == "accumulate" and step.node is second)
    assert second_step.tensors["x"].accumulated == 2  # what the app's warning reads
    first_reset = next(step for step in steps if step.kind == "reset")
    assert "x" in first_reset.reset.tensors and grads(first_reset, "x") is None

    end = steps[-1]
    assert values(end, "product_without_reset") == pytest.approx(17.8467, abs=1e-3)
    assert values(end, "product_with_reset") == pytest.approx(13.9613, abs=1e-3)


@pytest.mark.slow
def test_05_my_network_reaches_the_target_in_twenty_rounds(recorded):
    steps, _ = recorded("05-my-network")
    end = steps[-1]
    for name in ("m1.weight", "m1.bias", "m2.weight", "m2.bias"):
        assert f"my_network.{name}" in end.tensors
    assert end.tensors["my_network.m1.weight"].shape == (2, 3)
    assert end.tensors["my_network.m2.weight"].shape == (5, 2)

    first_output = next(step for step in steps if "my_network_output" in step.tensors)
    assert values(first_output, "my_network_output") == pytest.approx(
        (-0.4180, -0.1396, 0.7874, 0.8281, -0.3530), abs=1e-4
    )  # the random start the narrative quotes
    losses = [values(one_pass[0], "loss") for one_pass in backward_passes(steps)]
    assert len(losses) == 20
    assert losses[0] == pytest.approx(50.199, abs=1e-3)
    assert losses[10] < 5 * 0.01**2  # after ten rounds every output is within 0.01
    assert sum(step.kind == "reset" for step in steps) == 20

    assert values(end, "final_output") == pytest.approx((1.0, 2.0, 3.0, 4.0, 5.0), abs=1e-4)
    assert values(end, "largest_error") < 1e-4


@pytest.mark.slow
def test_06_linear_regression_fits_pi_and_42_by_hand_and_with_sgd(recorded):
    lesson_id = "06-linear-regression"
    steps, _ = recorded(lesson_id)
    end = steps[-1]
    for model in ("hand_model", "sgd_model"):
        slope = values(end, f"{model}.weight")[0][0]
        intercept = values(end, f"{model}.bias")[0]
        assert abs(slope - math.pi) < 0.1 and abs(intercept - 42) < 0.1
        assert (slope, intercept) == pytest.approx((3.1095, 41.9927), abs=1e-3)

    # The hand-written update is an optimize like SGD's, and hand_model.zero_grad() a reset.
    hand_update_line = line_of(lesson_id, "param -= learning_rate * param.grad")
    hand_steps = [step for step in steps if step.line == hand_update_line]
    assert hand_steps
    assert any(step.phase == "optimize" for step in hand_steps)
    hand_reset_line = line_of(lesson_id, "hand_model.zero_grad()")
    assert any(step.kind == "reset" and step.line == hand_reset_line for step in steps)
    # `param` still holds hand_model.bias after the update loop: the reset and the next backward call
    # it by its path, as the tensors table does.
    hand_resets = [step.reset.tensors for step in steps if step.kind == "reset" and step.line == hand_reset_line]
    assert hand_resets and all(tensors == ("hand_model.weight", "hand_model.bias") for tensors in hand_resets)
    leaves = {step.node.leaf for step in steps if step.kind == "accumulate"}
    assert leaves == {"hand_model.weight", "hand_model.bias", "sgd_model.weight", "sgd_model.bias"}


def test_07_custom_function_gives_1_at_two_and_0_at_three(recorded):
    steps, _ = recorded("07-custom-function")
    end = steps[-1]
    assert grads(end, "t") == 2.0
    assert grads(end, "t_2") == 1.0
    assert grads(end, "t_3") is None  # the plain function cuts the graph at 3
    assert grads(end, "t_2_custom") == 1.0
    assert grads(end, "t_3_custom") == 0.0
    assert end.tensors["x_3_custom"].grad_fn == "IHateThreesBackward"
    assert any(step.kind == "backward" and step.node.name == "IHateThreesBackward" for step in steps)
    assert any(step.kind == "line" and step.function == "backward" for step in steps)  # our own backward()


@pytest.mark.slow
def test_08_challenge_solution_generalises_to_held_out_vectors(recorded):
    steps, _ = recorded("08-challenge")
    end = steps[-1]
    assert end.tensors["train_inputs"].shape == (200, 3)
    assert end.tensors["held_out_inputs"].shape == (1131, 3)
    mean_absolute_error = values(end, "mean_absolute_error")
    assert mean_absolute_error < 0.05
    assert mean_absolute_error == pytest.approx(0.007, abs=1e-3)
    assert values(end, "example") == pytest.approx((7.0, -3.0, 10.0, 11.0, 12.0), abs=0.02)
