"""The learner's script runs in the engine's child process: whatever it does there cannot reach the app.

Each test goes through the real app (Pilot) and the real child: a segfault mid-loop, os._exit(0),
a graphviz.py beside the script (then x exports), a script that chdirs. The app stays up, says
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
from tests.ui.fakes import screen_text
from tests.ui.test_live import press, settle
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
        assert kept > 10 and app.history.steps[-1].line in (8, 6, 5)
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
