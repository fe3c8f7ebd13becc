"""History (time travel, breakpoints, output) and safe formatting: plain Python, no app."""

from __future__ import annotations

import pytest

from tests.builders import tensor_view
from tests.fixtures.recordings import lesson, steps
from tui.render.formatting import (
    format_number,
    format_values,
    grad_text,
    safe_str,
    value_text,
)
from tui.steps.model import Summary, TensorView
from tui.ui.state import History, changed_fields, default_tensor, phase_entry_test


def test_history_walks_back_and_forth_without_losing_steps():
    history = History(steps("seed_sgd"))
    assert history.current == 0
    assert history.go(5) and history.step.index == 5
    assert history.previous.index == 4
    assert not history.go(5)
    history.go(10_000)
    assert history.at_head and history.finished


def test_lines_run_are_the_lines_seen_before_the_current_step():
    history = History(steps("seed_sgd"))
    history.go(3)  # lines 2, 3, 5 ran; line 6 is about to
    assert history.lines_run() == {2, 3, 5}


def test_output_accumulates_up_to_the_current_step():
    # lesson 05 prints one "round N  loss ..." line per round (steps 27, 56, 85, ...)
    recording = lesson("05-my-network", 300)
    history = History(recording.steps)
    printed = [step.index for step in recording.steps if step.output]
    history.go(printed[1])
    assert history.output() == recording.steps[printed[0]].output + recording.steps[printed[1]].output
    assert history.output().startswith("round  1  loss 50.1990\nround  2  loss")
    history.go(printed[1] - 1)
    assert history.output() == recording.steps[printed[0]].output
    history.go(0)
    assert history.output() == ""


def test_breakpoints_toggle():
    history = History(breakpoints=[3])
    assert history.toggle_breakpoint(5) is True
    assert history.toggle_breakpoint(3) is False
    assert history.breakpoints == {5}
    history.clear()
    assert history.breakpoints == {5} and len(history) == 0


def test_phase_entry_finds_the_first_optimizer_sub_step():
    history = History(steps("seed_sgd"))
    found = history.find_forward(phase_entry_test("optimize"))
    assert history.steps[found].kind == "optimizer"
    assert history.steps[found].update.after.value == pytest.approx(3.0 - 3e-3 * -24.0)  # float32: 3.0720


def test_default_tensor_is_the_loss_not_an_inner_scalar():
    backward = next(step for step in steps("seed_sgd") if step.kind == "backward")
    assert default_tensor(backward) == "loss"


def test_series_follows_var_1_across_the_run():
    history = History(steps("seed_sgd"))
    series = history.series("var_1")
    values = [value for value in series.values if value is not None]  # None: var_1 not defined yet
    assert series.values[0] is None and values[0] == 3.0
    assert values[-1] > 3.07  # SGD moved it up
    assert min(grad for grad in series.grads if grad is not None) == -24.0
    assert None in series.grads  # before the first backward: no .grad, not 0


def test_changed_fields_name_the_cells_to_highlight():
    before = tensor_view(3.0)
    after = tensor_view(3.0, grad=-24.0, accumulated=1)
    assert changed_fields(after, before) == {"grad"}
    assert changed_fields(tensor_view(3.072), before) == {"value"}


def test_numbers_are_shown_with_four_decimals_and_big_tensors_as_summaries():
    assert format_number(3.072) == "3.0720"
    assert format_number(-24.0) == "-24.0000"
    assert format_number(1e-9) == "1.000e-09"
    assert format_values((1.0, (2.0, "nan"))) == "[1.0000, [2.0000, nan]]"
    big = TensorView((1000,), "float32", "cpu", False, True, None, 0, None,
                     Summary(1000, -1.0, 1.0, 0.0, 0.5, 2, 0, 10, (0.1, 0.2)))
    text = value_text(big)
    assert "1,000×" in text and "NaN" in text
    assert grad_text(big) == "—"
    assert len(format_values(tuple(float(i) for i in range(10_000)), 50)) == 50


def test_a_failing_repr_becomes_a_marker():
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_str(Broken()) == "<unprintable Broken: RuntimeError>"
