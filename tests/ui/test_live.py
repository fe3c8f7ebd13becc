"""The app on the seed example with the real engine: backprop, optimize, reset, and back in time."""

from __future__ import annotations

import asyncio

import pytest

from tests.ui.conftest import SIZE
from tests.ui.screen import pause_running, press, screen_text, settle, tensor_row
from tests.ui.test_jumps import phase_bar
from tui.ui.app import GradstepApp

pytest.importorskip("torch")


async def test_seed_example_backprop_optimize_reset_and_back(script):
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.history.step.line == 2
        # stepping over lines reaches the backward line
        while app.history.step.line != 11:
            await press(pilot, app, "n")
        assert "▶ loss.backward()" in screen_text(app)
        # stepping into backward shows one autograd node per keystroke
        names = []
        for _ in range(5):
            await press(pilot, app, "s")
            names.append(app.history.step.node.name)
            text = screen_text(app)
            assert f"▶ {names[-1]}" in text
            if names[-1] == "MulBackward0":  # the tree shows what it saved, not torchviz's placeholder
                mul = next(line for line in text.splitlines() if "▶ MulBackward0" in line)
                assert "self=3.0000" in mul and "other=4.0000" in mul and "[saved tensor]" not in text
        assert names == ["PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
        text = screen_text(app)
        assert "-24.0000" in tensor_row(text, "var_1")
        assert "-18.0000" in tensor_row(text, "var_2")
        # stepping on reaches optimize: var_1 = 3.0720
        while app.history.step.phase != "optimize":
            await press(pilot, app, "s")
        assert "Optimize" in screen_text(app)
        while app.history.step.kind != "optimizer" or app.history.step.update.param != "var_2":
            await press(pilot, app, "s")
        text = screen_text(app)
        assert "3.0720" in tensor_row(text, "var_1")
        assert "4.0540" in tensor_row(text, "var_2")
        # ... and reset: .grad is gone
        while app.history.step.kind != "reset":
            await press(pilot, app, "s")
        row = tensor_row(screen_text(app), "var_1")
        assert "—" in row and "-24" not in row
        # ← walks back (nothing re-runs) to a step where var_1 is 3.0 again
        sent = len(app.commands_log)
        while app.history.step.tensors["var_1"].value != 3.0:
            await pilot.press("left")
        assert "3.0000" in tensor_row(screen_text(app), "var_1")
        assert len(app.commands_log) == sent
        assert app.history.current < app.history.head


async def test_continue_to_the_end_and_quit(script):
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        for _ in range(2000):
            if app.result is not None:
                break
            await pilot.pause(0.01)
        assert app.history.steps[-1].kind == "end"
        text = screen_text(app)
        assert "3.4505" in tensor_row(text, "var_1")
        assert "tensor(3.4505, requires_grad=True)" in text  # the script's print, in the output pane


async def test_a_script_stuck_in_while_true_never_holds_up_the_ui(tmp_path):
    import time

    from tui.commands.app import live_target

    stuck = tmp_path / "stuck.py"
    stuck.write_text("import torch\nx = torch.tensor(1.0)\nwhile True:\n    x = x + 1\n")
    app = GradstepApp(live=live_target(stuck))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(4):
            await press(pilot, app, "n")
        await pilot.press("c")
        await pilot.pause(0.3)
        assert app.control.continuing
        await pause_running(app)
        await pilot.pause()
        assert "paused" in phase_bar(screen_text(app))
        # step back through history: the app already holds it, the engine is not asked
        sent, head = len(app.commands_log), app.history.head
        await pilot.press("left")
        assert app.history.current == head - 1 and len(app.commands_log) == sent
        # continue again, then quit while it runs (continue kept its steps: quitting asks first)
        await pilot.press("right", "right", "right", "right", "right", "c")
        await pilot.pause(0.1)
        await pilot.press("q")
        app.simulate_key("y")  # quits at once: the running child is ended, never waited on
        started = time.perf_counter()
        while app.is_running:
            assert time.perf_counter() - started < 5, "quitting waited on the running script"
            await asyncio.sleep(0.002)
