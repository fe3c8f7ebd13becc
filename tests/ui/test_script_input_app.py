"""input() in the app: the prompt shows over the output pane, the learner's line goes to the script (Pilot, real child)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from tests.ui.conftest import SIZE
from tests.ui.test_live import settle
from tui.ui.app import GradstepApp
from tui.ui.screens.script_input import ScriptInputScreen
from tui.ui.widgets.output_pane import OutputPane

pytest.importorskip("torch")

ASKS = """\
import torch

name = input("your [b]name[/b]? ")
count = torch.tensor(float(len(name)))
print("hello", name)
"""


async def _wait(pilot, condition, timeout: float = 60.0) -> None:
    waited = 0.0
    while not condition():
        await pilot.pause(0.02)
        waited += 0.02
        assert waited < timeout, "timed out"


@pytest.mark.parametrize(("typed", "output"), [
    ("Ada", "your [b]name[/b]? Ada\nhello Ada\n"),
    (None, "your [b]name[/b]? "),  # Escape: EOFError, as Ctrl-D in a terminal
])
async def test_input_shows_the_prompt_and_sends_the_learners_line(tmp_path, typed, output):
    from tui.commands.app import live_target

    path = tmp_path / "asks.py"
    path.write_text(ASKS)
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        await _wait(pilot, lambda: isinstance(app.screen, ScriptInputScreen))
        prompt = app.screen.query_one("#script-input-prompt", Static)
        assert str(prompt.render()) == "your [b]name[/b]? "  # the script's text, not markup
        assert app.screen.query_one("#script-input-line", Input).has_focus
        if typed is None:
            await pilot.press("escape")
        else:
            await pilot.press(*typed, "enter")
        await _wait(pilot, lambda: app.result is not None)
        await pilot.pause()
        assert not isinstance(app.screen, ScriptInputScreen)
        pane = app.screen.query_one(OutputPane)
        shown = pane.render_text(200).plain
        assert shown.startswith(output)
        if typed is None:
            assert "EOFError" in shown
        else:
            assert app.result.status == "finished"
