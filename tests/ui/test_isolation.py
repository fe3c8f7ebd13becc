"""The learner's script runs in the engine's child process: whatever it does there cannot reach the app.

Each test goes through the real app (Pilot) and the real child: a segfault mid-loop, os._exit(0),
a graphviz.py beside the script (then x exports), a script that chdirs, 10 MB of output, a rich.py
and a random.py beside the script (it gets its own), a script that replaces sys.path and sys.stdout. The app stays up, says
what happened (exit code or signal), keeps the history, and exports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.ui.conftest import SIZE
from tests.ui.screen import press, screen_text, settle
from tui.ui.app import GradstepApp

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]

LOOP = """\
import os, signal
import torch
w = torch.tensor(2.0, requires_grad=True)
for i in range(5):
    loss = (w * 3 - 1) ** 2
    loss.backward()
    if i == 2:
        {ending}
print("never")
"""


async def run_to_the_end(pilot, app, timeout: float = 30.0) -> None:
    """c, then wait until the run has ended one way or another."""
    await pilot.press("c")
    waited = 0.0
    while app.result is None:
        await pilot.pause(0.02)
        waited += 0.02
        if waited > timeout:
            raise AssertionError(f"the run did not end (status {app.status!r})")
    await pilot.pause()


async def export_from_the_app(pilot, app, output: Path) -> None:
    """x, type the path, Enter; wait until the dialog is gone and the file is there."""
    await pilot.press("x")
    for _ in range(200):
        if app.screen is not app.main_screen:
            break
        await pilot.pause(0.01)
    dialog = app.screen
    dialog.query_one("#export-path", Input).value = str(output)
    dialog.query_one("#export-path", Input).focus()
    await pilot.press("enter")
    for _ in range(1000):
        await pilot.pause(0.02)
        if app.screen is not dialog:
            break
    assert app.screen is app.main_screen, "the export dialog stayed open: " + screen_text(app)[-400:]
    assert output.exists()


@pytest.mark.parametrize(
    ("ending", "said"),
    [("os.kill(os.getpid(), signal.SIGSEGV)", "SIGSEGV"), ("os._exit(0)", "exit code 0")],
    ids=["segfault", "os-exit"],
)
async def test_a_script_that_kills_its_process_leaves_the_app_up_with_its_history(tmp_path, ending, said):
    from tui.commands.app import live_target

    path = tmp_path / "dies.py"
    path.write_text(LOOP.format(ending=ending))
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "n", "n")
        await run_to_the_end(pilot, app)
        # THEN the app is up and says how the script's process ended
        assert app.is_running
        assert app.result.status == "died"
        assert said in app.status
        kept = len(app.history)
        lines = [(step.kind, step.line) for step in app.history.steps[-8:]]
        assert kept > 10 and app.history.steps[-1].line in (4, 5, 6, 7, 8), (kept, lines, app.status)
        assert said in screen_text(app)
        # AND the history is there to walk back through, and to export from
        await pilot.press("left", "left")
        assert app.history.current == kept - 3
        await export_from_the_app(pilot, app, tmp_path / "after.svg")
        assert "<svg" in (tmp_path / "after.svg").read_text()


async def test_a_graphviz_py_beside_the_script_is_never_imported_by_the_export(tmp_path):
    from tui.commands.app import live_target

    marker = tmp_path / "imported.txt"
    (tmp_path / "graphviz.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\nraise ImportError('the fake graphviz')\n"
    )
    path = tmp_path / "beside.py"
    path.write_text("import torch\nw = torch.tensor(2.0, requires_grad=True)\nloss = (w * 3) ** 2\nx = 1\n")
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "n", "n")
        assert app.history.step.line == 4 and "loss" in app.history.step.tensors
        output = tmp_path / "live.svg"
        await export_from_the_app(pilot, app, output)
        assert "<svg" in output.read_text() and "PowBackward0" in output.read_text()
    assert not marker.exists()


async def test_a_script_that_chdirs_moves_neither_the_app_nor_its_export(tmp_path, monkeypatch):
    from tui.commands.app import live_target

    start = tmp_path / "start"
    start.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    path = project / "moves.py"
    path.write_text(
        "import os\nos.chdir(os.path.dirname(os.path.abspath(__file__)))\nimport torch\n"
        "w = torch.tensor(2.0, requires_grad=True)\nloss = (w - 1) ** 2\nx = 1\n"
    )
    monkeypatch.chdir(start)
    app = GradstepApp(live=live_target(Path("../project/moves.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line < 6:
            await press(pilot, app, "n")
        assert Path.cwd() == start
        await export_from_the_app(pilot, app, Path("graph.svg"))  # relative: to where the app started
        assert (start / "graph.svg").exists() and not (project / "graph.svg").exists()
        await run_to_the_end(pilot, app)
        assert app.result.status == "finished"
    assert Path.cwd() == start


SESSION_WITHOUT_TORCH = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from tui.commands.app import live_target
    from tui.ui.app import GradstepApp

    async def main():
        app = GradstepApp(live=live_target(Path(sys.argv[1])))
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(3000):
                if app.session is not None and app.history.steps and not app.awaiting:
                    break
                await pilot.pause(0.01)
            for key in ("n", "n", "s"):
                await pilot.press(key)
                for _ in range(3000):
                    if not app.awaiting:
                        break
                    await pilot.pause(0.01)
            assert len(app.history) >= 4, app.status
            assert app.header is not None and app.header.torch
            print("steps", len(app.history), "torch" in sys.modules, "torchviz" in sys.modules)

    asyncio.run(main())
    """
)


def test_the_app_s_process_never_imports_torch_during_a_live_session(script):
    done = subprocess.run(
        [sys.executable, "-c", SESSION_WITHOUT_TORCH, str(script("seed_sgd.py"))],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[0] == "steps" and int(words[1]) >= 4
    assert words[2:] == ["False", "False"], done.stdout


TEN_MB = """\
import torch
w = torch.tensor(2.0, requires_grad=True)
line = "0123456789" * 10 + "\\n"
print(line * 100_000, end="")
print("the last line")
loss = (w * 3) ** 2
x = 1
"""


async def test_ten_megabytes_of_output_leave_the_app_responsive_and_the_pane_bounded(tmp_path):
    from tui.commands.app import live_target
    from tui.ui.state import OUTPUT_CHARS

    path = tmp_path / "loud.py"
    path.write_text(TEN_MB)
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # WHEN the script writes 10.1 MB in one statement and goes on
        text = await press(pilot, app, "n", "n", "n", "n")
        assert app.history.step.line == 5
        written = sum(len(step.output) for step in app.history.steps)
        assert written == 101 * 100_000
        # THEN the app still answers keys, and the output pane holds only the tail
        text = await press(pilot, app, "n", "n")
        assert app.history.step.line == 7 and "loss" in app.history.step.tensors
        assert "the last line" in text and "0123456789" in text
        assert len(app.history.output()) <= OUTPUT_CHARS
        # AND the history is kept: back before the output, the pane is empty again
        await pilot.press("left", "left", "left")
        assert app.history.step.line == 4 and app.history.output() == ""
        await pilot.press("end")  # c in the history stops at its head: back there first
        await run_to_the_end(pilot, app)
        assert app.result.status == "finished"


async def test_a_rich_py_and_a_random_py_beside_the_script_are_the_script_s_own(tmp_path):
    from tui.commands.app import live_target

    for name in ("rich", "random"):
        (tmp_path / f"{name}.py").write_text(f"WHO = 'the script\\'s own {name}'\n")
    path = tmp_path / "shadows.py"
    path.write_text(
        "import rich\nimport random\nimport torch\n"
        "print(rich.WHO, '/', random.WHO)\n"
        "w = torch.tensor(2.0, requires_grad=True)\nloss = (w * 3) ** 2\nx = 1\n"
    )
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # WHEN the script imports its own rich and random and runs on
        text = await press(pilot, app, "n", "n", "n", "n", "n", "n")
        # THEN it saw its own modules, and the app (which draws with the real rich) is unaffected
        assert app.history.step.line == 7 and "loss" in app.history.step.tensors
        assert "the script's own rich / the script's own random" in text
        assert "▶" in text and "loss" in text
        output = tmp_path / "beside.svg"
        await export_from_the_app(pilot, app, output)
        assert "PowBackward0" in output.read_text()
        await run_to_the_end(pilot, app)
        assert app.result.status == "finished"
    import random

    import rich

    assert not hasattr(rich, "WHO") and not hasattr(random, "WHO")


async def test_a_script_that_replaces_sys_path_and_sys_stdout_reaches_only_itself(tmp_path):
    from tui.commands.app import live_target

    path = tmp_path / "rewires.py"
    path.write_text(
        "import io, sys\nimport torch\n"
        "sys.path[:] = ['/nowhere']\n"
        "print('before the swap')\n"
        "sys.stdout = io.StringIO()\n"
        "print('into the script s own buffer')\n"
        "w = torch.tensor(2.0, requires_grad=True)\nloss = (w * 3) ** 2\n"
        "sys.stdout = sys.__stdout__\nprint('after the swap')\nx = 1\n"
    )
    path_before, stdout_before = list(sys.path), sys.stdout
    app = GradstepApp(live=live_target(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line < 11:
            text = await press(pilot, app, "n")
        # THEN the script's output is what it printed to the real stdout, and the app is unmoved
        output = app.history.output()
        assert output == "before the swap\nafter the swap\n"
        assert "before the swap" in text and "after the swap" in text
        assert "loss" in app.history.step.tensors
        # AND an export, which imports in the child after sys.path was emptied, still works
        output = tmp_path / "rewired.svg"
        await export_from_the_app(pilot, app, output)
        assert "PowBackward0" in output.read_text()
        await run_to_the_end(pilot, app)
        assert app.result.status == "finished"
    assert sys.path == path_before and sys.stdout is stdout_before
