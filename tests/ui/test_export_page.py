"""The export dialog's html format: the whole history as one page, written off the UI thread."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from tests.engine.recorded import seed_recording
from tui.steps.recording import load_recording
from tui.ui.app import GradstepApp

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def page_data(path: Path) -> dict:
    text = path.read_text()
    start = text.index('id="gradstep-data">') + len('id="gradstep-data">')
    return json.loads(gzip.decompress(base64.b64decode(text[start : text.index("</script>", start)])))


async def test_the_dialog_writes_the_page_of_every_step(tmp_path: Path) -> None:
    """GIVEN a replay of the seed example WHEN x, format html, Export THEN the page holds every step."""
    recording = load_recording(seed_recording())
    app = GradstepApp(recording=recording)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#export-format", Select).value = "html"
        await pilot.pause()
        assert dialog.query_one("#export-path", Input).value.endswith("-step0.html")
        dialog.query_one("#export-path", Input).value = str(tmp_path / "seed.html")
        await pilot.click("#export-go")
        for _ in range(2000):
            await pilot.pause(0.01)
            if app.screen is not dialog:
                break
        assert app.screen is not dialog, dialog.query_one("#export-message").render()
    data = page_data(tmp_path / "seed.html")
    assert len(data["steps"]) == len(recording.steps)
    mul = next(i for i, step in enumerate(recording.steps) if step.node and step.node.name == "MulBackward0")
    assert data["steps"][mul]["n"] == "MulBackward0"
    assert any(line.endswith("= -24") for line in data["steps"][mul]["e"])
    assert "g" in data["steps"][mul]  # its graph picture
