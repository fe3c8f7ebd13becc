"""The app driven by the messages the engine posts: steps of checked-in recordings of real scripts (no torch)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.fixtures.recordings import lesson, load
from tests.fixtures.recordings import steps as recorded_steps
from tests.ui.conftest import SIZE, FakeLive
from tests.ui.screen import screen_text
from tui.steps.model import ExceptionInfo
from tui.ui.app import GradstepApp
from tui.ui.messages import RunFinished, StepCaptured
from tui.ui.widgets.graph_tree import GraphTree
from tui.ui.widgets.source_view import SourceView
from tui.ui.widgets.tensor_table import TensorTable


def index_of(steps, test) -> int:
    return next(position for position, step in enumerate(steps) if test(step))


async def test_posted_step_is_shown_and_next_asks_the_engine(fake_live):
    # GIVEN a live app whose engine has stopped at the backward line
    steps = recorded_steps("seed_sgd")
    backward_line = index_of(steps, lambda step: step.line == 11)
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        for step in steps[: backward_line + 1]:
            await fake_live.emit(pilot, step)
        assert fake_live.app.history.current == backward_line
        # WHEN the learner presses s at the head of the history
        await pilot.press("s")
        # THEN the app asks the engine to step into, and shows it is running once that takes a while
        assert fake_live.session.commands == ["step_into"]
        await pilot.pause(0.3)
        assert "running" in screen_text(fake_live.app)
        # WHEN the engine answers with the first backward node
        await fake_live.emit(pilot, steps[backward_line + 1])
        # THEN the screen follows it: PowBackward0 is the node being processed
        text = screen_text(fake_live.app)
        assert "▶ PowBackward0" in text
        assert "paused" in text


async def test_keys_typed_while_the_engine_runs_are_queued_not_lost(fake_live):
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, steps[0])
        # WHEN the learner presses n three times before the engine answers
        await pilot.press("n", "n", "n")
        assert fake_live.session.commands == ["step_over"]
        # THEN each answer releases the next command
        await fake_live.emit(pilot, steps[1])
        await fake_live.emit(pilot, steps[2])
        assert fake_live.session.commands == ["step_over"] * 3


async def test_back_reads_history_and_forward_walks_it_before_running(fake_live):
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        for step in steps[:6]:
            await fake_live.emit(pilot, step)
        # WHEN the learner goes back twice and forward once
        await pilot.press("left", "p", "right")
        # THEN nothing was sent to the engine and the view is one step behind the head
        assert fake_live.session.commands == []
        assert fake_live.app.history.current == 4
        assert "step 4/5" in screen_text(fake_live.app)
        # WHEN → reaches the head and is pressed again, THEN the engine runs
        await pilot.press("right", "right")
        assert fake_live.session.commands == ["step_over"]


async def test_accumulation_warning_without_a_reset():
    # GIVEN two backward passes without zero_grad
    fake_live = FakeLive.of("seed_no_reset")
    steps = recorded_steps("seed_no_reset")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        second_pass = [step for step in steps if step.kind == "accumulate"][-1]
        for step in steps[: second_pass.index + 1]:
            await fake_live.emit(pilot, step)
        text = screen_text(fake_live.app)
        # THEN the .grad column counts three passes and the banner warns
        assert "3× ⚠" in text
        assert "accumulated over more than one backward without a reset" in text


async def test_exception_is_shown_and_the_app_stays_up():
    app = GradstepApp(recording=load("raises"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")  # no breakpoints: continue walks to the end of the recording
        text = screen_text(app)
        assert "ValueError: the learning rate exploded (line 8)" in text
        assert 'line 8, in <module>: raise ValueError("the learning rate exploded")' in text  # and its frame
        await pilot.press("left")
        assert app.is_running


async def test_run_finished_stops_stepping(fake_live):
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        for step in steps[:34]:  # the pass before the loop and the first iteration
            await fake_live.emit(pilot, step)
        fake_live.app.post_message(RunFinished(type("R", (), {"status": "finished"})(), fake_live.app.generation))
        await pilot.pause()
        await pilot.press("n")
        assert fake_live.session.commands == []
        assert "finished" in screen_text(fake_live.app)


async def test_a_failed_run_says_why_and_keeps_the_history(fake_live):
    # GIVEN a live app with some steps
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        for step in steps[:5]:
            await fake_live.emit(pilot, step)
        # WHEN the engine reports that gradstep itself could not go on
        failure = ExceptionInfo(type="RuntimeError", message="gradstep could not go on: no storage", line=None)
        result = SimpleNamespace(status="failed", steps=5, exception=failure)  # a RunResult, without torch
        fake_live.app.post_message(RunFinished(result, fake_live.app.generation))
        await pilot.pause()
        # THEN the learner is told why, the app stays up and the history is still there
        messages = [notification.message for notification in fake_live.app._notifications]
        assert "RuntimeError: gradstep could not go on: no storage" in messages
        assert "failed" in screen_text(fake_live.app)
        await pilot.press("left")
        assert fake_live.app.history.current == 3


async def test_steps_from_a_stopped_session_are_ignored(fake_live):
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, steps[0])
        # WHEN the learner restarts, THEN the old session is stopped and a new one starts
        await pilot.press("r")
        await pilot.pause(0.1)
        assert fake_live.sessions[0].commands[-1] == "stop"
        assert len(fake_live.sessions) == 2
        # AND a late step of the old session does not land in the new history
        fake_live.app.post_message(StepCaptured(steps[1], fake_live.app.generation - 1))
        await pilot.pause()
        assert len(fake_live.app.history) == 0


async def test_breakpoint_key_and_gutter_click_reach_the_engine(fake_live):
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, steps[0])  # line 2
        await pilot.press("b")
        assert fake_live.session.breakpoints == (2,)
        # a click in the gutter of line 11 (row 10 of the source view)
        source = fake_live.app.screen.query_one(SourceView)
        await pilot.click(SourceView, offset=(source.gutter.left + 2, source.gutter.top + 10))
        assert fake_live.session.breakpoints == (2, 11)
        assert "●" in screen_text(fake_live.app)


async def test_clicking_a_tensor_row_selects_it():
    recording = load("seed_sgd")
    steps = recording.steps
    app = GradstepApp(recording=recording)
    accumulate = index_of(steps, lambda step: step.kind == "accumulate")
    async with app.run_test(size=SIZE) as pilot:
        app.history.go(accumulate)
        app.refresh_view()
        await pilot.pause()
        assert app.selected_tensor() == "loss"
        table = app.screen.query_one(TensorTable)
        # row 0 is var_1 (the header row is y=0 inside the border)
        await pilot.click(TensorTable, offset=(3, 2))
        await pilot.pause()
        assert app.selected_tensor() == "var_1"
        assert "var_1  scalar float32" in screen_text(app)
        # the grad_fn tree of a leaf falls back to the loss's chain
        assert app.screen.query_one(GraphTree).root_name == "loss"
        assert "loss: ✓ PowBackward0" in screen_text(app)
        assert table.selected == "var_1"


async def test_jumps_in_replay_land_on_phase_starts():
    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O")
        assert app.history.step.kind == "optimizer"
        await pilot.press("R")
        assert app.history.step.kind == "reset"
        await pilot.press("B")
        assert app.history.step.kind == "backward" and app.history.step.node.name == "PowBackward0"
        await pilot.press("right_square_bracket")
        assert app.history.step.iteration == 2 and app.history.previous.iteration == 1
        start_of_second = app.history.current
        await pilot.press("n", "n", "left_square_bracket")
        assert app.history.current == start_of_second
        await pilot.press("left_square_bracket")
        assert app.history.step.iteration == 1 and app.history.previous.iteration is None


async def test_small_terminal_renders():
    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n", "n", "n", "n", "n", "n", "n", "s")
        assert "REPLAY" in screen_text(app)


async def test_device_switch_restarts_there_and_returns_to_the_same_step(fake_live):
    # GIVEN a live run stepped to step 6 with a breakpoint on line 11
    steps = recorded_steps("seed_sgd")
    async with fake_live.app.run_test(size=SIZE) as pilot:
        await fake_live.started(pilot)
        await fake_live.emit(pilot, steps[0])
        for step in steps[1:6]:
            await pilot.press("n")
            await fake_live.emit(pilot, step)
        fake_live.app.control.toggle_breakpoint(11)
        # WHEN the learner picks another device
        fake_live.app.switch_device("cuda:0")
        await fake_live.started(pilot)
        for _ in range(50):
            if len(fake_live.sessions) == 2 and fake_live.app.session is fake_live.sessions[1]:
                break
            await pilot.pause(0.01)
        # THEN a new session starts on it with the same breakpoints and replays the same commands
        assert fake_live.devices == [None, "cuda:0"]
        assert fake_live.sessions[0].commands[-1] == "stop"
        assert fake_live.sessions[1].breakpoints == (11,)
        await fake_live.emit(pilot, steps[0])
        for step in steps[1:6]:
            await fake_live.emit(pilot, step)
        assert fake_live.sessions[1].commands == ["step_over"] * 5
        assert fake_live.app.history.current == 5
        assert "step 5/5" in screen_text(fake_live.app)


async def test_x_opens_the_export_dialog_and_escape_closes_it():
    from tui.ui.screens.export_dialog import ExportScreen

    app = GradstepApp(recording=load("seed_sgd"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("B", "x")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.default_tensor == "loss"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main_screen


async def test_lesson_narrative_follows_the_line_and_m_hides_it():
    from tui.lessons import find_lesson, narrative_at, parse_cells
    from tui.ui.widgets.narrative import NarrativePane

    source = find_lesson("03").path.read_text()
    cells = parse_cells(source)
    code = next(cell for cell in cells if cell.kind == "code" and narrative_at(cells, cell.start_line + 1))
    expected = narrative_at(cells, code.start_line + 1)
    recording = lesson("03-sgd-to-15")
    assert recording.header.source == source, "lesson 03 changed: run python -m tests.tools.regenerate_recordings"
    at = next(step.index for step in recording.steps if step.line == code.start_line + 1)
    app = GradstepApp(recording=recording)
    async with app.run_test(size=SIZE) as pilot:
        app.history.go(at)
        app.refresh_view()
        await pilot.pause()
        pane = app.screen.query_one(NarrativePane)
        assert pane.display and not pane.has_class("-hidden")
        first_words = " ".join(expected.replace("#", "").split()[:3])
        assert first_words in " ".join(screen_text(app).split())
        await pilot.press("m")
        assert pane.has_class("-hidden")
        await pilot.press("m")
        assert not pane.has_class("-hidden")

