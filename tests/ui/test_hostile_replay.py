"""A hostile recording replayed: its escapes and markup are on screen as the text they are, and nothing breaks."""

from __future__ import annotations

import io

import pytest

from tests.hostile import CONTROLS, HOSTILE_SHOWN, MARKUP, hostile_recording
from tui.ui.app import GradstepApp

pytest.importorskip("torch")

SIZE = (200, 50)


def screen_text(app) -> str:
    """What the terminal shows, as the characters the compositor would write."""
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


@pytest.mark.parametrize("opener", ["load_recording", "open_recording"])
async def test_replay_shows_escapes_and_markup_from_the_recording_as_visible_text(opener):
    from tui.steps.lazy import LazyRecording, open_recording
    from tui.steps.recording import load_recording

    # load_recording: every step decoded first; open_recording: what `gradstep replay` does, block by block
    recording = (open_recording if opener == "open_recording" else load_recording)(hostile_recording())
    assert isinstance(recording, LazyRecording) == (opener == "open_recording")
    app = GradstepApp(recording=recording)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("end")  # the exception step: names, message, stdout and device all on screen
        await pilot.pause()
        text = screen_text(app)
        assert not any(char in text for char in CONTROLS), "a raw control character reached the screen"
        device = app.screen.query_one("#device-label").render()
        assert str(device).startswith("⚙ cpu\\x1b]0;pwned\\x07") and MARKUP in str(device)
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in text  # source comments, tensor names, the exception, stdout
        assert "exploded\\x1b]0;pwned" in text and "ValueError\\x1b]0;pwned" in text  # the exception, wrapped
        # the markup is text: no link was made, and clicking where it is drawn does not quit
        assert "[@click=app.quit]click[/]" in text
        await pilot.click("#device-label")
        await pilot.pause()
        assert app.is_running
        for _ in range(3):  # walk back through steps with hostile names in every pane
            await pilot.press("left")
            await pilot.pause()
        assert app.is_running and not any(char in screen_text(app) for char in CONTROLS)
    assert HOSTILE_SHOWN  # the shown form is what the CLI tests look for too
