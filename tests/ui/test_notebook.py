"""Notebooks in: the seed document's notebook recorded from its .ipynb, stepped to MulBackward0 on screen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.ui.screen import screen_text
from tui.commands.notebook import notebook_script
from tui.steps.recording import load_recording
from tui.ui.app import GradstepApp

NOTEBOOK = REPO / "tests" / "notebooks" / "seed.ipynb"


def test_cells_become_a_percent_script_with_each_line_under_its_cell() -> None:
    text, notices = notebook_script(NOTEBOOK)
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert notices == [
        "cell 1: skipped an IPython-only line: %matplotlib inline",
        "cell 1: skipped an IPython-only line: !pip install torch",
    ]
    lines = text.splitlines()
    assert "pass  # skipped (IPython only): %matplotlib inline" in lines
    # Every code line sits under the `# %% cell N` of the notebook cell it came from, in order.
    for number, cell in enumerate(cells, start=1):
        marker = f"# %% cell {number}" if cell["cell_type"] == "code" else f"# %% [markdown] cell {number}"
        start = lines.index(marker) + 1
        body = "".join(cell["source"]).splitlines()
        if cell["cell_type"] == "code" and not body[0].startswith("%"):
            assert lines[start] == body[0] or lines[start].startswith("(lambda value")
    # A cell's last bare expression is shown; a call (backward, step, zero_grad) stays as written.
    assert "(lambda value: None if value is None else print(repr(value)))((var_1, var_2))" in lines
    assert "my_sgd.zero_grad()  # RESET!" in lines


async def test_the_seed_notebook_steps_to_mul_backward_with_its_grads(tmp_path: Path) -> None:
    """GIVEN the seed notebook recorded WHEN replayed to MulBackward0 THEN -24 and -18 are on screen."""
    recording_path = tmp_path / "nb.gstep"
    result = subprocess.run(
        [sys.executable, "-m", "tui", "record", str(NOTEBOOK), "-o", str(recording_path)],
        capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "note: cell 1: skipped an IPython-only line: !pip install torch" in result.stderr
    recording = load_recording(recording_path)
    mul = next(step for step in recording.steps if step.node is not None and step.node.name == "MulBackward0")
    output = "".join(step.output for step in recording.steps[: mul.index + 1])
    assert "(tensor(3., requires_grad=True), tensor(4., requires_grad=True))" in output  # the cell's output
    source_lines = recording.header.source.splitlines()
    cell = next(line for line in reversed(source_lines[: mul.line]) if line.startswith("# %% cell "))
    assert cell == "# %% cell 13"  # the notebook's cell with the first backward()

    app = GradstepApp(recording=recording)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#goto-input").value = ""
        await pilot.press(*str(mul.index), "enter")
        await pilot.pause()
        screen = screen_text(app)
    assert "MulBackward0" in screen
    assert "-24" in screen and "-18" in screen
    assert "loss.backward()  # BACKPROP!" in screen


def test_lesson_copy_puts_the_script_beside_the_learner_and_never_overwrites(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tui", "lesson", "03", "--copy", str(tmp_path / "mine")]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert first.returncode == 0, first.stderr
    copied = tmp_path / "mine" / "03-sgd-to-15.py"
    assert first.stdout.strip() == str(copied)
    assert copied.read_text() == (REPO / "lessons" / "03-sgd-to-15.py").read_text()
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
