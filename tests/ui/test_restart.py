"""Restart with the real engine: an edited script shows its new text; a script that chdirs still restarts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.ui.conftest import SIZE
from tests.ui.screen import press, screen_text, settle
from tui.ui.app import GradstepApp

pytest.importorskip("torch")


async def restart(pilot, app) -> None:
    """Press r and wait until the new session has posted its first step."""
    generation = app.generation
    await pilot.press("r")
    while app.generation == generation:
        await pilot.pause(0.01)
    await settle(pilot, app)


def shown_source(app) -> str:
    from tui.ui.widgets.source_view import SourceView

    return app.main_screen.query_one(SourceView)._source


async def test_restart_after_editing_the_script_shows_the_new_source(tmp_path):
    from tui.commands.app import live_target

    path = tmp_path / "three.py"
    path.write_text("a = 1\nb = 2\nc = 3\n")
    app = GradstepApp(live=live_target(path, breakpoints=(2, 3)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "▶ a = 1" in screen_text(app)
        # GIVEN the learner edits the file while the app is open
        path.write_text("# first comment\n# second comment\na = 10\nb = 20\nc = 30\n")
        # WHEN they restart and step
        await restart(pilot, app)
        await press(pilot, app, "s")
        # THEN the engine's line and the source view agree on the new text
        assert app.header.source.startswith("# first comment")
        assert shown_source(app) == app.header.source
        assert app.history.step.line == 4
        text = screen_text(app)
        assert "# second comment" in text
        assert "▶ b = 20" in text
        assert "a = 10" in text and not re.search(r"[abc] = [123](?!0)", text)  # no old line left
        assert app.live_target.source == app.header.source
        assert app.history.breakpoints == {2, 3}  # both still fit
        # AND a shorter script drops the breakpoints past its end, in the session too
        path.write_text("a = 5\nb = 6\n")
        await restart(pilot, app)
        assert shown_source(app) == "a = 5\nb = 6\n"
        assert app.history.breakpoints == {2}
        assert "▶ a = 5" in screen_text(app)


async def test_restart_after_editing_a_lesson_rebuilds_its_narrative(tmp_path):
    from tui.commands.app import live_target

    path = tmp_path / "lesson.py"
    path.write_text("# %% [markdown]\n# Old explanation here\n\n# %%\nx = 1\ny = 2\n")
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "Old explanation here" in screen_text(app)
        path.write_text("# %% [markdown]\n# Fresh explanation now\n\n# %%\nx = 1\ny = 2\n")
        await restart(pilot, app)
        text = screen_text(app)
        assert "Fresh explanation now" in text
        assert "Old explanation here" not in text


CHDIR_SCRIPT = (
    "import os\n"
    "os.chdir(os.path.dirname(os.path.abspath(__file__)))\n"
    "import torch\n"
    "x = torch.tensor(2.0, requires_grad=True)\n"
    "y = x * 3\n"
)


@pytest.fixture
def chdir_script(tmp_path, monkeypatch) -> Path:
    """A script in tmp_path/project that chdirs to its own folder; the cwd is tmp_path/start."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "chdirs.py").write_text(CHDIR_SCRIPT)
    start = tmp_path / "start"
    start.mkdir()
    monkeypatch.chdir(start)
    return Path("../project/chdirs.py")  # relative, as typed on the command line


def wait_for(condition, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the engine did not get there in time")
        time.sleep(0.01)


def test_the_starter_restarts_a_script_that_chdirs(chdir_script, tmp_path):
    from tui.commands.app import live_target

    target = live_target(chdir_script)
    assert target.script.is_absolute()
    # GIVEN a first run paused past its os.chdir (line 4 has a breakpoint)
    steps = []
    first = target.start_session(steps.append, lambda result: None, (4,), None)
    try:
        wait_for(lambda: steps)
        first.resume()
        wait_for(lambda: steps[-1].line == 4)
        # the script's os.chdir stays in its child process: this one has not moved
        assert Path.cwd().resolve() == (tmp_path / "start").resolve()
        # WHEN it is started again (a restart) while the cwd is the script's folder
        second = target.start_session(lambda step: None, lambda result: None, (), None)
        try:
            second.resume()
            result = second.wait(20)
        finally:
            second.stop()
        # THEN the script is found and runs to its end
        assert result is not None and result.status == "finished", result
    finally:
        first.stop()
        first.wait(5)


async def test_restart_and_save_after_the_script_chdirs(chdir_script, tmp_path):
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(chdir_script))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line < 4:  # past the os.chdir
            await press(pilot, app, "n")
        # WHEN the learner restarts: the script is still found
        await restart(pilot, app)
        assert app.status != "could not start"
        while app.history.step.line < 4:
            await press(pilot, app, "n")
        assert "▶ x = torch.tensor" in screen_text(app)
        # AND ctrl+s writes into the folder the app was started in, not the script's
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(200):
            if app.last_saved is not None:
                break
            await pilot.pause(0.02)
    assert app.last_saved == tmp_path / "start" / "chdirs.gstep"
    assert app.last_saved.exists()
    assert not (tmp_path / "project" / "chdirs.gstep").exists()
