"""`gradstep SCRIPT`, `replay`, `lesson` on bad input, the torch-free UI import, the lesson picker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.fixtures.recordings import load
from tests.ui.conftest import SIZE, FakeSession
from tests.ui.screen import screen_text
from tui.ui.app import GradstepApp


def gradstep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tui", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert words in lines[0]


def test_missing_script_is_one_line_and_exit_2(tmp_path):
    assert_one_line_error(gradstep("missing.py", cwd=tmp_path), "no such script: missing.py")


def test_syntax_error_is_one_line_and_exit_2(tmp_path, script):
    broken = script("syntax_error.py")
    assert_one_line_error(gradstep(str(broken), cwd=tmp_path), "SyntaxError at line 3")


def test_corrupt_recording_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "corrupt.gstep").write_bytes(os.urandom(300))
    assert_one_line_error(gradstep("replay", "corrupt.gstep", cwd=tmp_path), "corrupt.gstep")


def test_unknown_lesson_is_one_line_and_exit_2(tmp_path):
    assert_one_line_error(gradstep("lesson", "99", cwd=tmp_path), "lesson '99'")




async def test_a_saved_session_replays_the_same_steps(tmp_path, monkeypatch):
    # GIVEN a recording written by ctrl+s from a session
    from tests.ui.conftest import FakeLive
    from tui.steps.recording import load_recording

    monkeypatch.chdir(tmp_path)
    steps = load("seed_sgd").steps[:34]  # the pass before the loop and the first iteration
    live = FakeLive()
    app = live.app
    async with app.run_test(size=SIZE) as pilot:
        await live.started(pilot)
        for step in steps:
            await live.emit(pilot, step)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter")  # the dialog's default: a fresh name in the start folder, the steps so far
        for _ in range(100):
            if app.last_saved is not None:
                break
            await pilot.pause(0.02)
    assert app.last_saved == tmp_path / "seed_sgd.gstep"
    # WHEN it is loaded and replayed
    recording = load_recording(app.last_saved)
    assert [step.kind for step in recording.steps] == [step.kind for step in steps]
    replay = GradstepApp(recording=recording)
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.press("B", "s", "s", "s", "s")
        # THEN the accumulate sub-step shows var_1.grad = -24 in REPLAY mode
        text = screen_text(replay)
        assert "REPLAY" in text and "-24.0000" in text and "AccumulateGrad" in text


async def test_picker_lists_the_lessons_and_enter_opens_one():
    from tui.lessons import list_lessons

    lessons = list_lessons()
    opened = []

    def open_lesson(lesson):
        from tui.ui.live import LiveTarget

        opened.append(lesson.id)
        return LiveTarget(lesson.path, lesson.path.read_text(), lambda *args: FakeSession(lesson.path.read_text()))

    app = GradstepApp(lessons=lessons, open_lesson=open_lesson)
    async with app.run_test(size=SIZE) as pilot:
        text = screen_text(app)
        for lesson in lessons:
            assert lesson.id in text and lesson.title in text
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert opened == [lessons[2].id]
        assert app.screen is app.main_screen
        assert "LIVE" in screen_text(app)
