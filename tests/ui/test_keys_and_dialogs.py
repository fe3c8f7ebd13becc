"""Keys a newcomer finds, and the dialogs that guard a learner's history.

Replays and fake-live sessions here carry real steps: lesson 03 as the engine records it.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from tests.ui.conftest import FakeLive
from tests.ui.lesson_recordings import lesson_recording
from tests.ui.screen import screen_text, settle
from tui.ui.app import FEW_STEPS, GradstepApp
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.picker import PickerScreen
from tui.ui.screens.save import SaveScreen
from tui.ui.widgets.footer import ESSENTIAL
from tui.ui.widgets.source_view import SourceView
from tui.ui.widgets.tensor_table import TensorTable

pytest.importorskip("torch")

LESSON = "03-sgd-to-15"


def footer_actions(app) -> list[str]:
    return [key.action for key in app.screen.query("FooterKey")]


def lesson_live(**options) -> FakeLive:
    """A fake live session on lesson 03's source; the test posts the steps the engine recorded."""
    recording = lesson_recording(LESSON)
    live = FakeLive(source=recording.header.source)
    for name, value in options.items():
        setattr(live.app, name, value)
    return live


async def post(live: FakeLive, pilot, count: int) -> None:
    await live.started(pilot)
    for step in lesson_recording(LESSON).steps[:count]:
        await live.emit(pilot, step)


async def palette_entries(pilot, app, typed: str) -> list[str]:
    await pilot.press(*typed)
    await pilot.pause(0.3)
    options = app.screen.query_one(OptionList)
    entries = [str(options.get_option_at_index(index).prompt) for index in range(options.option_count)]
    for _ in typed:
        await pilot.press("backspace")
    return entries


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
async def test_the_palette_lists_the_screens_actions(size):
    # GIVEN a replay of lesson 03 and the command palette opened from its main screen
    app = GradstepApp(recording=lesson_recording(LESSON))
    async with app.run_test(size=size) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        # WHEN the learner types what they look for THEN the palette finds it
        assert any(entry.startswith("Export graph (x)") for entry in await palette_entries(pilot, app, "export"))
        assert any(entry.startswith("Step into (s)") for entry in await palette_entries(pilot, app, "step"))
        assert any(entry.startswith("Back (←/p)") for entry in await palette_entries(pilot, app, "back"))
        # AND replay offers nothing it cannot do
        assert not any("Restart" in entry for entry in await palette_entries(pilot, app, "restart"))
        await pilot.press("escape")
        # AND a command run from the palette acts on the main screen
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"next backprop")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.history.step.node.name == "PowBackward0"


@pytest.mark.parametrize("width", [160, 120, 80])
async def test_the_footer_fits_and_keeps_the_essential_keys(width):
    live = lesson_live()
    async with live.app.run_test(size=(width, 30)) as pilot:
        await post(live, pilot, 12)
        await pilot.pause(0.2)
        actions = footer_actions(live.app)
        for essential in ESSENTIAL:
            assert essential in actions, f"{essential} missing at {width} columns: {actions}"
        footer = live.app.screen.query_one("FittedFooter")
        assert sum(key.size.width for key in footer.query("FooterKey")) <= width


async def test_the_replay_footer_offers_only_what_replay_can_do():
    app = GradstepApp(recording=lesson_recording(LESSON))
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause(0.2)
        actions = footer_actions(app)
        assert {"help", "next", "step_into", "previous", "export"} <= set(actions)
        assert not {"save", "restart", "device"} & set(actions)
        await pilot.press("r", "d")  # do nothing in replay
        assert app.screen is app.main_screen and app.history.current == 0


async def test_escape_goes_back_to_the_lesson_picker_and_asks_when_history_would_be_lost():
    from tests.ui.test_snapshots import LESSONS

    live = lesson_live(lessons=LESSONS)
    app = live.app
    async with app.run_test(size=(120, 36)) as pilot:
        await post(live, pilot, FEW_STEPS + 5)
        await pilot.pause(0.2)
        assert "lessons" in footer_actions(app)
        # WHEN the learner presses Escape with more than a few unsaved steps THEN the app asks first
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert f"{FEW_STEPS + 5} steps" in screen_text(app)
        await pilot.press("n")
        assert app.screen is app.main_screen and len(app.history) == FEW_STEPS + 5
        # AND a yes leaves for the picker, stopping the run
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert "stop" in live.session.commands


async def test_q_and_r_ask_only_when_more_than_a_few_steps_would_be_lost():
    live = lesson_live()
    app = live.app
    async with app.run_test(size=(120, 36)) as pilot:
        await post(live, pilot, 3)
        await pilot.press("r")  # three steps: restarts at once
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and len(live.sessions) == 2
        for step in lesson_recording(LESSON).steps[: FEW_STEPS + 1]:
            await live.emit(pilot, step)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("escape")  # Escape is "no"
        await pilot.pause()
        assert app.screen is app.main_screen and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_s_asks_for_a_fresh_path_and_warns_before_overwriting(tmp_path, monkeypatch):
    from tui.steps.recording import load_recording

    monkeypatch.chdir(tmp_path)
    live = lesson_live()
    app = live.app
    async with app.run_test(size=(120, 36)) as pilot:
        await post(live, pilot, 14)
        # GIVEN a recording of that name already there
        (tmp_path / "seed_sgd.gstep").write_bytes(b"keep me")
        await pilot.press("ctrl+s")
        await pilot.pause()
        # THEN the default is a name that does not exist yet
        path_input = app.screen.query_one("#save-path")
        assert isinstance(app.screen, SaveScreen) and path_input.value == str(tmp_path / "seed_sgd-2.gstep")
        # WHEN the learner types the existing name THEN the dialog warns and the first Enter writes nothing
        path_input.value = str(tmp_path / "seed_sgd.gstep")
        await pilot.pause()
        assert "exists" in screen_text(app) and "Overwrite" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen) and (tmp_path / "seed_sgd.gstep").read_bytes() == b"keep me"
        # AND a second Enter replaces it with the 14 steps so far
        await pilot.press("enter")
        for _ in range(200):
            if app.last_saved is not None:
                break
            await pilot.pause(0.02)
    saved = load_recording(tmp_path / "seed_sgd.gstep")
    assert len(saved.steps) == 14
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.slow
async def test_ctrl_s_can_record_the_whole_run_in_the_background(script, tmp_path, monkeypatch):
    from tui.commands.app import live_target
    from tui.steps.recording import load_recording

    monkeypatch.chdir(tmp_path)
    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    progress = []
    async with app.run_test(size=(120, 36), message_hook=lambda message: progress.append(type(message).__name__)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.click("#save-whole")
        await pilot.click("#save-ok")
        # THEN the phase bar says how far the background recording got, and the file holds every step
        for _ in range(3000):
            if app.last_saved is not None:
                break
            await pilot.pause(0.02)
        assert app.last_saved == tmp_path / "seed_sgd.gstep"
        assert "RecordProgress" in progress
        assert len(app.history) < 10  # the learner's own session did not move
    recording = load_recording(tmp_path / "seed_sgd.gstep")
    assert recording.steps[-1].kind == "end" and len(recording.steps) > 1000


async def test_markdown_cells_fold_while_the_narrative_shows_and_unfold_with_m():
    app = GradstepApp(recording=lesson_recording(LESSON))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(SourceView)
        text = screen_text(app)
        # lesson 03's first markdown cell (lines 1-10) is one dim row; code starts right below
        assert "1 ┄ SGD to 15" in text and "# # SGD to 15" not in text
        assert view.line_at(view.row_of(20)) == 20 and view.row_of(20) < 10
        await pilot.press("m")
        await pilot.pause()
        # unfolded, the markdown's comment lines are source rows again (line 14 is in view above line 20)
        assert view.folds == () and view.row_of(20) == 19
        assert "# `my_latent_value` is `var_1 * var_2`" in screen_text(app)


async def test_a_70_character_line_shows_whole_at_160_columns(tmp_path):
    from tui.engine.session import Session
    from tui.steps.recording import load_recording, write_recording

    # GIVEN a 100-line script whose last line is 70 characters long
    code_line = "total = " + " + ".join(f"x{index}" for index in range(11))
    code_line += "  # " + "=" * (70 - len(code_line) - 4)
    assert len(code_line) == 70
    script = tmp_path / "wide.py"
    script.write_text("\n".join([f"x{index} = {index}" for index in range(99)] + [code_line, ""]))
    steps = []
    session = Session(script, on_step=steps.append, mode="record")
    session.run()
    write_recording(tmp_path / "wide.gstep", session.header, steps)
    app = GradstepApp(recording=load_recording(tmp_path / "wide.gstep"))
    async with app.run_test(size=(160, 48)) as pilot:
        # WHEN the learner is at that line THEN all 70 characters are on screen, with ▶ beside them
        app.history.go(next(index for index, step in enumerate(steps) if step.line == 100))
        app.refresh_view()
        await pilot.pause()
        assert f"100 ▶ {code_line}" in screen_text(app)


@pytest.mark.parametrize("size", [(160, 48), (120, 36), (80, 24)], ids=["160x48", "120x36", "80x24"])
async def test_the_tensors_table_keeps_name_value_grad_and_backwards(size):
    recording = lesson_recording("05-my-network", 300)
    app = GradstepApp(recording=recording)
    async with app.run_test(size=size) as pilot:
        index = next(index for index, step in enumerate(recording.steps) if step.kind == "optimizer")
        app.history.go(index)
        app.refresh_view()
        await pilot.pause()
        table = app.screen.query_one(TensorTable)
        header = next(line for line in screen_text(app).splitlines() if " name " in line and ".grad" in line)
        for column in ("name", "value", ".grad", "backwards"):
            assert column in header, f"{column} missing at {size}: {header!r}"
        assert table.max_scroll_x == 0  # nothing hides to the right


async def test_ctrl_c_pauses_a_continue_and_then_asks_whether_to_quit():
    """As in pdb: ctrl+c stops a running continue; with nothing running it asks, and ctrl+c again quits."""
    live = lesson_live()
    app = live.app
    async with app.run_test(size=(120, 36)) as pilot:
        await post(live, pilot, 3)
        await pilot.press("c")
        await pilot.pause()
        assert app.control.continuing
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert live.session.commands[-1] == "pause"
        assert app.screen is app.main_screen and app.is_running  # a pause, not a question yet
        await live.emit(pilot, lesson_recording(LESSON).steps[3])  # where the pause landed
        await settle(pilot, app)
        assert not app.control.continuing
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "Quit gradstep?" in screen_text(app)
        await pilot.press("n")  # no: back to the run
        await pilot.pause()
        assert app.screen is app.main_screen and app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
        await pilot.press("ctrl+c")  # twice: quit
        await pilot.pause()
    assert app.return_code == 0 and "stop" in live.session.commands
