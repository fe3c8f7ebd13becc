"""`:` evaluate and watches on the real engine: the answer is computed in the script's child process."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SIZE
from tests.ui.screen import screen_text
from tests.ui.test_live import press, settle
from tui.ui.app import GradstepApp

pytest.importorskip("torch")


async def answered(pilot, screen, timeout: float = 20.0) -> None:
    waited = 0.0
    while screen.pending:
        await pilot.pause(0.02)
        waited += 0.02
        assert waited < timeout, "the engine did not answer the expression"
    await pilot.pause()


async def test_evaluate_at_the_backward_line_shows_the_product_and_its_grad_fn(script):
    """GIVEN the seed example paused at `loss.backward()`, WHEN `:` `var_1 * var_2`, THEN 12 with MulBackward0."""
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line != 11:
            await press(pilot, app, "n")
        await pilot.press("colon")
        await pilot.pause()
        screen = app.screen
        await pilot.press(*"var_1 * var_2", "enter")
        await answered(pilot, screen)
        text = screen_text(app)
        line = next(row for row in text.splitlines() if "var_1 * var_2 =" in row)
        assert "12.0000" in line and "MulBackward0" in line
        # an error is one line; a statement says it changed the script's state
        await pilot.press(*"nope + 1", "enter")
        await answered(pilot, screen)
        assert "NameError: name 'nope' is not defined" in screen_text(app)
        await pilot.press(*"var_2 = var_2 * 0 + 5", "enter")
        await answered(pilot, screen)
        assert "set var_2: this changed the script's state" in screen_text(app)
        # ↑ brings back what was typed before
        await pilot.press("up")
        assert screen.query_one("#evaluate-input").value == "var_2 = var_2 * 0 + 5"
        await pilot.press("up")
        assert screen.query_one("#evaluate-input").value == "nope + 1"
        await pilot.press("escape")
        await pilot.pause()
        # the next step shows the change: var_2 is 5 now
        await press(pilot, app, "n")
        assert app.history.step.tensors["var_2"].value == 5.0


async def test_replay_says_it_runs_no_code_and_shows_the_recorded_watches(tmp_path, script):
    """GIVEN a recording made with --watch var_1.grad, WHEN `:` in replay after the first backward, THEN -24."""
    from tui.cli import main
    from tui.steps.recording import load_recording

    output = tmp_path / "watched.gstep"
    assert main(["record", str(script("seed_sgd.py")), "-o", str(output), "--watch", "var_1.grad"]) == 0
    recording = load_recording(output)
    app = GradstepApp(recording=recording)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = next(step for step in recording.steps if step.kind == "accumulate" and step.node.leaf == "var_1")
        app.history.go(first.index)
        app.refresh_view()
        await pilot.press("colon")
        await pilot.pause()
        text = screen_text(app)
        assert "Replay runs no code" in text
        line = next(row for row in text.splitlines() if "var_1.grad =" in row)
        assert "-24.0000" in line


async def test_the_exception_step_explains_the_mistake_in_the_scripts_words(tmp_path):
    """GIVEN a recording of backward() twice, WHEN at its exception step, THEN the output pane says what went wrong."""
    import shutil

    from tests.conftest import SCRIPTS
    from tui.cli import main
    from tui.steps.recording import load_recording

    script = tmp_path / "backward_twice.py"
    shutil.copy(SCRIPTS / "mistakes" / "backward_twice.py", script)
    output = tmp_path / "twice.gstep"
    assert main(["record", str(script), "-o", str(output)]) == 1
    app = GradstepApp(recording=load_recording(output))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        assert "⚠ backward() through the same graph twice: explained" in text  # the banner over the tensors
        output = next(line for line in text.splitlines() if "what went wrong" in line)
        assert "⚠ what went wrong: backward() through the same graph twice" in output
        assert "Line 6 calls loss.backward() through a graph that line 5" in text


async def test_ctrl_b_sets_a_condition_and_continue_stops_where_it_first_holds(script):
    """GIVEN the seed loop at its backward line, WHEN ctrl+b `loss<1` then c, THEN it stops at the first such iteration."""
    from tests.engine.test_inspect import first_iteration_below
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_loop.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line != 11:
            await press(pilot, app, "n")
        await pilot.press("ctrl+b")
        await pilot.pause()
        await pilot.press(*"loss<1", "enter")
        await pilot.pause()
        assert 11 in app.history.breakpoints and app.conditions == {11: "loss<1"}
        await press(pilot, app, "c")
        for _ in range(2000):
            if app.history.step.message and "is true" in app.history.step.message:
                break
            await pilot.pause(0.02)
        step = app.history.step
        assert (step.line, step.iteration) == (11, first_iteration_below(1.0))
        assert "breakpoint at line 11: `loss<1` is true" in " ".join(screen_text(app).split())


async def test_ctrl_b_lists_the_rules_in_effect_and_a_rule_entered_again_is_removed(script):
    """GIVEN a live seed run, WHEN ctrl+b `grad:var_1` twice, THEN the dialog lists it the second time,
    the rule is gone, and continue runs to the end without stopping on var_1's grad."""
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert "Rules in effect" not in screen_text(app)
        await pilot.press(*"grad:var_1", "enter")
        await pilot.pause()
        assert [rule.text for rule in app.break_on] == ["grad:var_1"]
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert "Rules in effect: grad:var_1. Enter one of them again to remove it." in " ".join(screen_text(app).split())
        await pilot.press(*"grad:var_1", "enter")
        await pilot.pause()
        assert app.break_on == []
        assert any("No longer breaks on grad:var_1." in str(n.message) for n in app._notifications)
        await press(pilot, app, "c")
        for _ in range(3000):
            if app.history.finished:
                break
            await pilot.pause(0.02)
        assert app.history.finished
        assert not any(step.message and "break on grad" in step.message for step in app.history.steps)
