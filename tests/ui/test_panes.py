"""The panes as the learner sees them, and what a step change costs (no layout pass, only changed rows)."""

from __future__ import annotations

import threading

from textual.screen import Screen
from textual.widgets import Static

from tests.builders import tensor_view
from tests.fixtures.recordings import load
from tests.ui.conftest import SIZE
from tests.ui.screen import screen_text
from tui.steps.model import GraphNode
from tui.ui.app import GradstepApp
from tui.ui.widgets.graph_tree import saved_text
from tui.ui.widgets.phase_bar import PhaseBar
from tui.ui.widgets.tensor_table import TensorTable


def line_with(text: str, word: str) -> str:
    return next(line for line in text.splitlines() if word in line)


async def test_the_tree_shows_saved_values_where_torchviz_shows_a_placeholder():
    # GIVEN the seed example inside backward, recorded by the engine (torchviz's `[saved tensor]`
    # placeholder in a node's attrs, the values under the same name in `saved`)
    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        # WHEN the learner steps to MulBackward0
        await pilot.press("B", "s", "s")
        assert app.history.step.node.name == "MulBackward0"
        text = screen_text(app)
        # THEN its line shows what it saved, number by number, and the chain rule on the lines below
        mul = line_with(text, "▶ MulBackward0")
        assert "self=3.0000" in mul and "other=4.0000" in mul
        assert "[saved tensor]" not in text
        assert "var_1 ← -6 × var_2 (4) = -24" in text and "var_2 ← -6 × var_1 (3) = -18" in text
        # AND a finished node keeps the grad it sent
        assert "exponent=2" in line_with(text, "✓ PowBackward0") and "sent 6" in line_with(text, "✓ PowBackward0")


def test_saved_text_is_compact_for_lists_and_freed_tensors():
    node = GraphNode(
        7,
        "CatBackward0",
        attrs=(("dim", "0"), ("tensors", "[saved tensors]"), ("self", "[saved tensor]")),
        saved=(("tensors[0]", tensor_view(1.0)), ("tensors[1]", tensor_view(2.5)), ("self", None)),
    )
    assert saved_text(node) == "dim=0  tensors=[1.0000, 2.5000]  self=freed"


async def test_the_phase_bar_lights_the_current_phase_and_says_replay_and_device():
    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("B")
        bar = app.screen.query_one(PhaseBar)
        lit = [label.id for label in bar.query(".phase") if label.has_class("-lit")]
        assert lit == ["phase-backprop"]
        await pilot.press("O")
        lit = [label.id for label in bar.query(".phase") if label.has_class("-lit")]
        assert lit == ["phase-optimize"]
        mode = bar.query_one("#run-mode", Static)
        assert mode.has_class("-replay") and "REPLAY" in str(mode.render())
        text = screen_text(app)
        assert "⚙ cpu" in text and "step 14/1420" in text


async def test_walking_the_history_never_lays_out_the_screen_again(monkeypatch):
    # GIVEN a replay walked through once (columns and rows have found their size)
    layouts = []
    refresh_layout = Screen._refresh_layout

    def counted(screen, *args, **kwargs):
        layouts.append(screen)
        return refresh_layout(screen, *args, **kwargs)

    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["right"] * 40)
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        # WHEN the learner walks back and forth through backprop, optimize and reset
        await pilot.press(*["left"] * 25, *["right"] * 25)
        # THEN every pane changed in place: not one layout pass
        assert layouts == []
        assert app.history.current == 40


async def test_a_step_repaints_only_the_rows_whose_tensors_changed(monkeypatch):
    # GIVEN the replay at the first AccumulateGrad (var_1's .grad just arrived)
    recording = load("seed_sgd")
    steps = recording.steps
    first = next(step.index for step in steps if step.kind == "accumulate")
    app = GradstepApp(recording=recording)
    async with app.run_test(size=SIZE) as pilot:
        app.history.go(first)
        app.refresh_view()
        await pilot.pause()
        repainted = []
        table = app.screen.query_one(TensorTable)
        refresh_line = table.refresh_line
        monkeypatch.setattr(table, "refresh_line", lambda y: (repainted.append(y), refresh_line(y)))
        # WHEN the next step accumulates into var_2
        await pilot.press("right")
        # THEN var_2's row (new .grad) and var_1's (no longer highlighted) are redrawn, not the other two
        names = [name for name in steps[first + 1].tensors]
        assert sorted(names[y - 1] for y in repainted) == ["var_1", "var_2"]
        assert "-18.0000" in line_with(screen_text(app), "var_2  ")


async def test_a_quick_engine_answer_is_painted_without_a_running_flash(fake_live):
    steps = load("seed_sgd").steps
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, steps[0])
        shown = []
        bar = fake_live.app.screen.query_one(PhaseBar)
        original_show = bar.show
        bar.show = lambda state: (shown.append(state.status), original_show(state))
        # WHEN n is pressed and the engine answers at once
        await pilot.press("n")
        await fake_live.emit(pilot, steps[1])
        await pilot.pause(0.2)
        # THEN the bar went from paused to paused: "running…" was never drawn
        assert fake_live.session.commands == ["step_over"]
        assert "running…" not in shown and shown[-1] == "paused"


async def test_the_device_list_is_asked_for_off_the_ui_thread(fake_live, monkeypatch):
    import dataclasses

    from tui.engine.devices import DeviceInfo
    from tui.ui.screens.devices import DevicePickerScreen

    asked_on = []

    def list_devices():
        asked_on.append(threading.current_thread())
        return [DeviceInfo("cpu", True, None, "x86_64"), DeviceInfo("mps", False, "MPS (Apple Metal) needs a Mac", None)]

    # The app asks the LiveTarget's lister (tui.commands.app's asks a child process: no torch in the app).
    fake_live.app.live_target = dataclasses.replace(fake_live.app.live_target, list_devices=list_devices)
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, load("seed_sgd").steps[0])
        await pilot.press("d")
        for _ in range(100):
            if isinstance(fake_live.app.screen, DevicePickerScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(fake_live.app.screen, DevicePickerScreen)
        assert asked_on and asked_on[0] is not threading.main_thread()
        assert "needs a Mac" in screen_text(fake_live.app)
        # AND a click on the device in the phase bar opens it too
        await pilot.press("escape")
        await pilot.pause()
        await pilot.click("#device-label")
        for _ in range(100):
            if isinstance(fake_live.app.screen, DevicePickerScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(fake_live.app.screen, DevicePickerScreen) and len(asked_on) == 2


async def test_arrow_keys_in_the_table_select_the_tensor_the_panes_follow():
    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("B")
        assert app.selected_tensor() == "loss"
        await pilot.click(TensorTable, offset=(3, 2))  # var_1's row: focus and select
        await pilot.press("down", "down")
        assert app.selected_tensor() == "my_latent_value"
        text = screen_text(app)
        assert "my_latent_value  scalar float32" in text  # the details pane follows
        assert app.screen.query_one(TensorTable).cursor_row == 2


async def test_a_failed_save_is_one_notification_and_the_app_stays_up(tmp_path, monkeypatch):
    from tests.ui.conftest import FakeLive

    monkeypatch.chdir(tmp_path)
    live = FakeLive()
    app = live.app
    told = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **options: (told.append(message), notify(message, **options)))
    async with app.run_test(size=SIZE) as pilot:
        await live.started(pilot)
        for step in load("seed_sgd").steps[:34]:  # the pass before the loop and the first iteration
            await live.emit(pilot, step)
        await pilot.press("ctrl+s")
        await pilot.pause()
        # a path in a folder that does not exist: the write fails
        app.screen.query_one("#save-path").value = str(tmp_path / "missing" / "run.gstep")
        await pilot.press("enter")
        for _ in range(100):
            if told:
                break
            await pilot.pause(0.02)
        assert len(told) == 1 and told[0].startswith("Could not save: ") and "No such file or directory" in told[0]
        assert app.last_saved is None and app.is_running
