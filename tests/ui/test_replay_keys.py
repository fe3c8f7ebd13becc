"""Replay steps as live does (n over a backward, s into it, o out), Home / End / g, one step numbering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.recordings import fixture, load
from tests.ui.conftest import SIZE
from tests.ui.screen import press, screen_text, settle
from tests.ui.test_jumps import lesson_03, phase_bar
from tui.ui.app import GradstepApp

pytest.importorskip("torch")

LESSON = "03-sgd-to-15"


def recording_path():
    return fixture(f"lesson-{LESSON}").path


def replay_app() -> GradstepApp:
    return GradstepApp(recording=load(f"lesson-{LESSON}"))


def first_backward_line(steps) -> int:
    """The history index of the line step whose line runs the first backward()."""
    return next(index for index, step in enumerate(steps) if step.kind == "backward") - 1


async def go_to(pilot, app, index: int) -> str:
    """g, type the number, Enter: the screen after."""
    await pilot.press("g")
    await pilot.pause()
    field = app.screen.query_one("#goto-input")
    field.value = ""
    await pilot.press(*str(index), "enter")
    await pilot.pause()
    return screen_text(app)


async def test_replay_n_steps_over_backward_s_steps_into_it_o_steps_out():
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        steps = app.history.steps
        backward_line = first_backward_line(steps)
        text = await go_to(pilot, app, backward_line)
        assert app.history.current == backward_line and "▶ loss.backward()  # BACKPROP!" in text
        # n: over the whole backward pass, to the line after it, as live step over does
        await pilot.press("n")
        text = screen_text(app)
        step = app.history.step
        assert (step.kind, step.line) == ("line", steps[backward_line].line + 9)
        assert "▶ my_sgd.step()  # OPTIMIZE!" in text
        assert "-24.0000" in text  # var_1.grad after the backward it passed over
        # s: into it, the next recorded step
        await pilot.press("left")
        assert app.history.current == backward_line + 5  # ← is the last AccumulateGrad
        await go_to(pilot, app, backward_line)
        await pilot.press("s")
        assert app.history.step.node.name == "PowBackward0"
        assert "▶ PowBackward0" in screen_text(app)
        await pilot.press("s")
        assert app.history.step.node.name == "RsubBackward1"
        # o: out of the backward, to the line after it; n from inside does the same
        await pilot.press("o")
        text = screen_text(app)
        assert (app.history.step.kind, app.history.step.line) == ("line", steps[backward_line].line + 9)
        assert "▶ my_sgd.step()  # OPTIMIZE!" in text
        await go_to(pilot, app, backward_line + 2)
        await pilot.press("n")
        assert app.history.step.line == steps[backward_line].line + 9
        # n over my_sgd.step() passes both optimizer updates
        await pilot.press("n")
        text = screen_text(app)
        assert (app.history.step.kind, app.history.step.line) == ("line", steps[backward_line].line + 19)
        assert "3.0720" in text and "4.0540" in text


async def test_home_end_and_g_in_replay():
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        last = app.history.head
        await pilot.press("end")
        text = screen_text(app)
        assert app.history.current == last and app.history.step.kind == "end"
        assert f"step {last}/{last}" in phase_bar(text)
        await pilot.press("home")
        assert app.history.current == 0 and f"step 0/{last}" in phase_bar(screen_text(app))
        text = await go_to(pilot, app, 11)
        assert app.history.current == 11 and f"step 11/{last}" in phase_bar(text)
        # a number past the last step is refused and the dialog says why
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#goto-input").value = str(last + 5)
        await pilot.press("enter")
        await pilot.pause()
        assert f"Type a step number from 0 to {last}." in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.history.current == 11


async def test_end_in_live_goes_to_the_newest_step_without_running():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "n", "n", "home")
        assert app.history.current == 0
        sent = len(app.commands_log)
        await press(pilot, app, "end")
        text = screen_text(app)
        assert app.history.current == app.history.head == 3 and len(app.commands_log) == sent
        assert "step 3/3" in phase_bar(text)
        await go_to(pilot, app, 1)
        assert app.history.current == 1 and "step 1/3" in phase_bar(screen_text(app))


async def test_the_phase_bar_the_export_dialog_and_show_agree_on_one_step():
    from tui.ui.screens.export_dialog import ExportScreen

    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        number = first_backward_line(app.history.steps) + 3  # MulBackward0
        text = await go_to(pilot, app, number)
        step = app.history.step
        assert step.node.name == "MulBackward0"
        assert f"step {number}/{app.history.head}" in phase_bar(text)
        await pilot.press("x")
        for _ in range(100):
            if isinstance(app.screen, ExportScreen):
                break
            await pilot.pause(0.01)
        dialog = screen_text(app)
        assert f"Export the autograd graph at step {number}" in dialog
        path = app.screen.query_one("#export-path").value
        assert path.startswith(f"./gradstep-{LESSON}-step{number}.")
        await pilot.press("escape")
    shown = subprocess.run(
        [sys.executable, "-m", "tui", "show", str(recording_path()), "--step", str(number), "--json"],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(shown.stdout)
    assert data["step"] == number
    assert (data["kind"], data["line"], data["node"]["name"]) == (step.kind, step.line, "MulBackward0")


async def test_at_80_columns_the_phase_bar_keeps_the_whole_step_number():
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        number = 600
        text = await go_to(pilot, app, number)
        assert app.history.step.iteration is not None
        assert f"step {number}/{app.history.head}" in phase_bar(text)  # the iteration gives way first
