"""Jumps land where they say: B / O / R, ] and c on lesson 03 with the real engine, read off the screen."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SIZE
from tests.ui.screen import press, settle, tensor_row
from tui.ui.app import GradstepApp

pytest.importorskip("torch")


def lesson_03():
    from tui.commands.app import live_target
    from tui.lessons import find_lesson

    return live_target(find_lesson("03").path)


def line_of(source: str, text: str) -> int:
    """The 1-based line of the first source line containing `text`."""
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def phase_bar(text: str) -> str:
    return text.splitlines()[0]


async def test_B_O_R_each_show_the_step_they_found():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.history.current == 0
        text = await press(pilot, app, "B")
        step = app.history.step
        assert (step.kind, step.node.name, step.phase) == ("backward", "PowBackward0", "backprop")
        assert app.history.current == app.history.head  # on the step the engine found, not one behind
        assert "▶ PowBackward0" in text
        assert "backward ran PowBackward0" in text  # the details pane
        assert f"step {step.index}/" in phase_bar(text)

        text = await press(pilot, app, "O")
        step = app.history.step
        assert (step.kind, step.phase, step.update.param) == ("optimizer", "optimize", "var_1")
        assert "3.0720" in tensor_row(text, "var_1")
        assert "4.0000" in tensor_row(text, "var_2")  # the first sub-step: var_2 is not updated yet
        assert "updated var_1" in text and "PowBackward0" not in phase_bar(text)

        text = await press(pilot, app, "R")
        step = app.history.step
        assert (step.kind, step.phase) == ("reset", "reset")
        assert "zero_grad()" in text
        assert "-24" not in tensor_row(text, "var_1")  # .grad is gone
        assert "4.0540" in tensor_row(text, "var_2")


async def test_next_iteration_from_the_first_lands_on_iteration_2_and_back():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = await press(pilot, app, "]")
        first = app.history.step
        assert first.iteration == 1 and first.loop_line == line_of(app.live_target.source, "for _ in range(100)")
        assert "iteration 1" in phase_bar(text)
        text = await press(pilot, app, "]")
        second = app.history.step
        assert second.iteration == 2 and app.history.current == app.history.head
        previous = app.history.steps[app.history.current - 1]
        assert previous.iteration == 1  # the first step of iteration 2: the one before belongs to iteration 1
        assert "iteration 2" in phase_bar(text)
        assert f"▶ {app.live_target.source.splitlines()[second.line - 1].rstrip()}" in text
        text = await press(pilot, app, "[")
        assert app.history.step is first and "iteration 1" in phase_bar(text)


async def test_continue_to_a_breakpoint_shows_the_breakpoint_line():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        target = line_of(app.live_target.source, "my_sgd.zero_grad()  # RESET!")
        app.control.toggle_breakpoint(target)
        text = await press(pilot, app, "c")
        step = app.history.step
        assert (step.kind, step.line) == ("line", target) and app.history.current == app.history.head
        assert "▶ my_sgd.zero_grad()  # RESET!" in text
        assert "3.0720" in tensor_row(text, "var_1")  # the optimizer ran: this is the line after it
