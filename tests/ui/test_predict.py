"""Predict mode on real lesson recordings: the cell shows `?`, the guess is checked, the value revealed.

GIVEN a replay (or a live run) with predict mode on, WHEN the learner steps onto a step that
changes a number, THEN that cell shows `?` and the panel asks; what they type is checked
against the recorded value; the score counts it; the progress file and the picker say so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui.steps.predict import completes, marked_targets, predict_points
from tui.steps.recording import load_recording
from tui.ui.app import GradstepApp

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]
SIZE = (160, 48)


def lesson_03():
    from tests.engine.recorded import lesson_recording

    return load_recording(lesson_recording("03-sgd-to-15", 40))


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor", record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot, test, seconds: float = 60.0) -> None:
    """Pause until `test()` holds (a live child answers in its own time)."""
    for _ in range(int(seconds / 0.05)):
        if test():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting")


def table_row(text: str, name: str) -> str:
    """The tensors pane's row of `name` (the right-hand pane of the screen)."""
    for line in text.splitlines():
        match = re.search(rf"│ {re.escape(name)}\s+scalar.*?│", line)
        if match:
            return match.group(0)
    raise AssertionError(f"no row for {name} on screen:\n{text}")


async def step_to_first_accumulate(app, pilot) -> None:
    """From the line of the first backward(), `s` node by node, skipping what is asked before AccumulateGrad."""
    start = next(index for index, step in enumerate(app.history.steps) if step.kind == "backward") - 1
    app.control.go_to(start)
    app.refresh_view()
    await pilot.pause()
    while True:
        await pilot.press("s")
        await pilot.pause()
        if app.history.step.kind == "accumulate":
            return
        if app.predictor.asking:  # the grads PowBackward0 and RsubBackward1 send on: skipped
            await pilot.press("escape")
            await pilot.pause()


async def test_lesson_03_asks_for_var_1_grad_and_marks_minus_24_right():
    app = GradstepApp(recording=lesson_03(), predict=True)
    async with app.run_test(size=SIZE) as pilot:
        await step_to_first_accumulate(app, pilot)
        text = screen_text(app)
        assert re.search(r"var_1\s+scalar\s+3\.0000\s+\?", table_row(text, "var_1"))
        assert "Predict: var_1.grad after this AccumulateGrad = ?" in text
        assert "tolerance: relative 1e-3, exact for None and whole numbers" in text
        assert "-24" not in table_row(text, "var_1")

        await pilot.press(*"-24", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "✓ right: var_1.grad = -24" in text
        assert re.search(r"var_1\s+scalar\s+3\.0000\s+-24\.0000 ✓", table_row(text, "var_1"))
        assert "predict 1/3 right, 2 skipped" in text  # the phase bar's score


async def test_lesson_03_a_wrong_guess_shows_the_value_its_derivation_and_the_guess():
    app = GradstepApp(recording=lesson_03(), predict=True)
    async with app.run_test(size=SIZE) as pilot:
        await step_to_first_accumulate(app, pilot)
        await pilot.press(*"-12", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "✗ var_1.grad = -24 — you said -12" in text
        assert "-6 × var_2 (4) = -24" in text.split("✗", 1)[1]  # the chain-rule line, in the panel
        assert re.search(r"-24\.0000 ✗", table_row(text, "var_1"))
        assert "predict 0/3 right, 2 skipped" in text

        # The next AccumulateGrad asks for var_2.grad; the score counts both answers.
        await pilot.press("s")
        await pilot.pause()
        assert "Predict: var_2.grad after this AccumulateGrad = ?" in screen_text(app)
        await pilot.press(*"-18", "enter")
        await pilot.pause()
        assert "predict 1/4 right, 2 skipped" in screen_text(app)
        assert (app.predictor.score.right, app.predictor.score.asked, app.predictor.score.skipped) == (1, 4, 2)


async def test_while_asking_the_keys_type_the_guess_and_do_not_step():
    app = GradstepApp(recording=lesson_03(), predict=True)
    async with app.run_test(size=SIZE) as pilot:
        await step_to_first_accumulate(app, pilot)
        here = app.history.current
        await pilot.press(*"None", "space", "[", "enter")  # n, o, space and [ are stepping keys elsewhere
        await pilot.pause()
        assert app.history.current == here
        assert "✗ var_1.grad = -24 — you said None [" in screen_text(app)


async def test_a_marked_line_asks_after_n_and_the_narrative_waits_for_the_answer():
    """`n` over lesson 03's loss.backward() (marked `[predict] var_1.grad var_2.grad`) asks both in turn."""
    recording = lesson_03()
    app = GradstepApp(recording=recording, predict=True)
    async with app.run_test(size=SIZE) as pilot:
        start = next(index for index, step in enumerate(recording.steps) if step.kind == "backward") - 1
        app.control.go_to(start)
        app.refresh_view()
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        text = screen_text(app)
        assert "Predict: var_1.grad after this line = ?" in text
        assert "question 1 of 2" in text
        assert "is -24" not in text  # the Optimize! narrative, which tells, waits
        assert re.search(r"\?", table_row(text, "var_2"))
        await pilot.press(*"-24", "enter")
        await pilot.pause()
        assert "Predict: var_2.grad after this line = ?" in screen_text(app)
        await pilot.press(*"-18.0", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "✓ right: var_1.grad = -24" in text and "✓ right: var_2.grad = -18" in text
        assert "var_1.grad is -24" in text.replace("`", "")  # now the narrative explains it


def test_replay_with_predict_on_a_gradstep_record_recording(tmp_path):
    """`gradstep record` writes lesson 04; the replay asks for the accumulated x.grad (no code runs)."""
    output = tmp_path / "lesson04.gstep"
    done = subprocess.run(
        [sys.executable, "-m", "tui", "record", "04", "-o", str(output), "--max-steps", "40"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert output.exists(), done.stderr
    recording = load_recording(output)

    import asyncio

    async def run() -> None:
        app = GradstepApp(recording=recording, predict=True)
        async with app.run_test(size=(120, 36)) as pilot:
            backwards = [index for index, step in enumerate(recording.steps) if step.kind == "backward"]
            second = next(index for index in backwards if recording.steps[index - 1].kind == "line" and index > backwards[0] + 1)
            app.control.go_to(second - 1)
            app.refresh_view()
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause()
            assert "Predict: x.grad after this line = ?" in screen_text(app)
            await pilot.press(*"[2, 2, 2]", "enter")
            await pilot.pause()
            text = screen_text(app)
            assert "✓ right: x.grad = [2, 2, 2]" in text
            assert "predict 1/1 right" in text

    asyncio.run(run())


EXPECTED = {  # the seed course's answers (/work/shared/seeds), per lesson: (line's code, tensor, value)
    "02-autograd": {"var_1.grad": 4.0, "var_2.grad": 3.0},
    "03-sgd-to-15": {"var_1.grad": -24.0, "var_2.grad": -18.0, "var_1": 3.0720, "var_2": 4.0540},
    "04-accumulation": {"x.grad": (2.0, 2.0, 2.0)},
    "07-custom-function": {"t_2.grad": 1.0, "t_3.grad": None, "t_2_custom.grad": 1.0, "t_3_custom.grad": 0.0},
}


@pytest.mark.parametrize("lesson_id", sorted(EXPECTED))
def test_every_predict_point_has_a_recorded_value(lesson_id):
    """Record the lesson; find each [predict] point's line step and where its line finishes; the value is there."""
    from tests.engine.recorded import lesson_recording
    from tui.lessons import find_lesson
    from tui.steps.cells import parse_cells

    lesson = find_lesson(lesson_id)
    points = predict_points(parse_cells(lesson.path.read_text(encoding="utf-8")))
    assert points, f"{lesson_id} has no [predict] point"
    steps = load_recording(lesson_recording(lesson_id, 120 if lesson_id == "03-sgd-to-15" else None)).steps
    found = {}
    for line, asked in points.items():
        start = next(index for index, step in enumerate(steps) if step.kind == "line" and step.line == line)
        finish = next(index for index in range(start + 1, len(steps)) if completes(steps, start, index))
        targets = marked_targets(steps, start, finish, {line: asked})
        assert [target.label for target in targets] == list(asked), f"line {line}: {asked} not all recorded"
        assert {target.step for target in targets} == {finish}, f"line {line}: asked where the line has finished"
        found.update({target.label: target.answer for target in targets})
        # A move that begins anywhere while the line runs (its backward() sub-steps, a custom backward's
        # own lines) and ends where it finishes asks the same: `n` or `o` from inside never skips it.
        for inside in range(start + 1, finish):
            again = marked_targets(steps, inside, finish, {line: asked})
            assert again == targets, f"line {line}: a move from step {inside} ({steps[inside].kind}) asks {again}"
    assert set(found) == set(EXPECTED[lesson_id])
    for label, expected in EXPECTED[lesson_id].items():
        if expected is None:
            assert found[label] is None
        else:
            assert found[label] == pytest.approx(expected, rel=1e-4), label


async def test_next_from_inside_a_custom_backward_still_asks_the_marked_grad():
    """Lesson 07: `n` from our backward()'s last line lands past `x_2_custom.backward()`: the marked t_2_custom.grad is asked."""
    from tests.engine.recorded import lesson_recording
    from tui.lessons import find_lesson
    from tui.steps.cells import parse_cells

    recording = load_recording(lesson_recording("07-custom-function"))
    steps = recording.steps
    points = predict_points(parse_cells(find_lesson("07-custom-function").path.read_text(encoding="utf-8")))
    marked = next(line for line, asked in points.items() if asked == ("t_2_custom.grad",))
    start = next(index for index, step in enumerate(steps) if step.kind == "line" and step.line == marked)
    finish = next(index for index in range(start + 1, len(steps)) if completes(steps, start, index))
    inside = max(index for index in range(start, finish) if steps[index].kind == "line" and steps[index].depth > 0)
    app = GradstepApp(recording=recording, predict=True)
    async with app.run_test(size=SIZE) as pilot:
        app.control.go_to(inside)
        app.refresh_view()
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.control.history.current == finish
        text = screen_text(app)
        assert "Predict: t_2_custom.grad after this line = ?" in text
        await pilot.press(*"1", "enter")
        await pilot.pause()
        assert "✓ right: t_2_custom.grad = 1" in screen_text(app)


@pytest.mark.parametrize("lesson_id", sorted(EXPECTED))
def test_no_narrative_summary_or_title_tells_a_marked_answer_before_its_point(lesson_id):
    """What a learner can read before a [predict] line (title, summary, narrative above) never holds its answer."""
    from tui.lessons import find_lesson
    from tui.steps.cells import parse_cells

    lesson = find_lesson(lesson_id)
    cells = parse_cells(lesson.path.read_text(encoding="utf-8"))
    tells = {
        "02-autograd": ["(4., 3.)", "is 4", "is 3 (", "at 4 and 3"],
        "03-sgd-to-15": ["-24", "-18", "3.0720", "4.0540"],
        "04-accumulation": ["[2, 2, 2]"],
        "07-custom-function": ["stays `None`", "is 1,", "is **0**", "`None`): the graph is cut"],
    }[lesson_id]
    first_point = min(predict_points(cells))
    before = [lesson.title, lesson.summary] + [cell.text for cell in cells if cell.kind == "markdown" and cell.end_line < first_point]
    for text in before:
        for tell in tells:
            assert tell not in text, f"{lesson_id}: {tell!r} shows before line {first_point}"


async def test_the_score_is_saved_per_lesson_and_the_picker_shows_it(data_dir):
    """Reaching the end in predict mode writes the lesson's progress file; the picker shows it."""
    from tests.engine.recorded import lesson_recording
    from tui.lessons import list_lessons
    from tui.progress import ProgressStore, progress_path
    from tui.ui.screens.picker import PickerScreen

    recording = load_recording(lesson_recording("02-autograd"))
    app = GradstepApp(recording=recording, predict=True, progress=ProgressStore(), lesson_id="02-autograd")
    async with app.run_test(size=SIZE) as pilot:
        start = next(index for index, step in enumerate(recording.steps) if step.kind == "backward") - 1
        app.control.go_to(start)
        app.refresh_view()
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"4", "enter")
        await pilot.pause()
        await pilot.press("escape")  # skip var_2.grad
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert "This session: predict 1/2 right, 1 skipped." in screen_text(app)
    saved = json.loads(progress_path("02-autograd").read_text(encoding="utf-8"))
    assert (saved["right"], saved["asked"], saved["skipped"], saved["done"]) == (1, 2, 1, True)
    assert progress_path("02-autograd").is_relative_to(data_dir)
    assert sorted(path.name for path in (data_dir / "progress").iterdir()) == ["02-autograd.json"]  # nothing else

    picker = GradstepApp(lessons=list_lessons(), progress=ProgressStore())
    async with picker.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(picker.screen, PickerScreen)
        text = screen_text(picker)
        row = next(line for line in text.splitlines() if "02-autograd" in line)
        assert "done · predicted 1/2 right" in row
        assert "predicted" not in next(line for line in text.splitlines() if "03-sgd-to-15" in line)


async def test_predict_mode_off_asks_nothing_and_a_toggles_it():
    app = GradstepApp(recording=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await step_to_first_accumulate(app, pilot)
        assert not app.predictor.asking and "?" not in table_row(screen_text(app), "var_1")
        assert "a Predict" in screen_text(app)  # the footer offers the key
        await pilot.press("a")
        await pilot.press("s")  # var_2's AccumulateGrad
        await pilot.pause()
        assert "Predict: var_2.grad after this AccumulateGrad = ?" in screen_text(app)


async def test_live_the_engine_runs_the_step_and_the_app_withholds_it_until_answered():
    """Live lesson 03 in the real child: `s` into backward(); at var_1's AccumulateGrad the engine has run
    it (the step is in the history, .grad -24) but the screen shows `?` until the learner answers."""
    from tui.commands.app import live_target
    from tui.lessons import find_lesson

    lesson = find_lesson("03")
    app = GradstepApp(live=live_target(lesson.path, lesson_id=lesson.id), predict=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session is not None and len(app.history) > 0)
        while app.history.step.kind != "line" or app.history.step.line != 54:
            before = len(app.history)
            await pilot.press("n")
            await wait_for(pilot, lambda: len(app.history) > before)
        while app.history.step.kind != "accumulate":
            before = len(app.history)
            await pilot.press("s")
            await wait_for(pilot, lambda: len(app.history) > before and not app.awaiting)
            if app.predictor.asking and app.history.step.kind != "accumulate":
                await pilot.press("escape")
                await pilot.pause()
        await pilot.pause()
        assert app.history.step.tensors["var_1"].grad == -24.0  # recorded by the engine...
        text = screen_text(app)
        assert re.search(r"var_1\s+scalar\s+3\.0000\s+\?", table_row(text, "var_1"))  # ...withheld on screen
        await pilot.press(*"-24", "enter")
        await pilot.pause()
        assert "✓ right: var_1.grad = -24" in screen_text(app)
