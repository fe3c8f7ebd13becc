"""gradstep in a real terminal: tmux runs it at 160×48, send-keys steps, capture-pane reads the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"),
]


class Terminal:
    """One detached tmux session running one command."""

    def __init__(self, command: list[str], cwd: Path, size: tuple[int, int] = (160, 48)) -> None:
        self.name = f"gradstep-{uuid.uuid4().hex[:8]}"
        line = " ".join(shlex.quote(part) for part in command)
        env = f"PYTHONPATH={shlex.quote(str(REPO))} TERM=xterm-256color"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd), f"env {env} {line}"],
            check=True,
            env={**os.environ, "TMUX": ""},
        )

    def screen(self) -> str:
        result = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return result.stdout

    def wait_for(self, *texts: str, timeout: float = 60.0, every=all) -> str:
        """The screen once it shows all of `texts` (or, with every=any, one of them)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if every(text in screen for text in texts):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{texts} never appeared; the screen was:\n{screen}")

    def wait_for_any(self, *texts: str, timeout: float = 60.0) -> str:
        return self.wait_for(*texts, timeout=timeout, every=any)

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(pause)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal():
    opened: list[Terminal] = []

    def open_terminal(*args: str, cwd: Path, size: tuple[int, int] = (160, 48)) -> Terminal:
        term = Terminal([sys.executable, "-m", "tui", *args], cwd, size)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def test_stepping_the_seed_example_shows_mulbackward_and_the_grad(terminal, script, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("tui.engine.session", reason="the engine's Session is not there yet")
    example = script("seed_sgd.py")
    term = terminal(str(example), cwd=tmp_path)
    term.wait_for("LIVE", "step 0/0", "paused")
    # lines 2, 3, 5, 6, 7, 9, 10 → the backward line 11, then into backward node by node
    term.keys(*["n"] * 7)
    term.wait_for("step 7/7")
    term.keys("s", "s", "s")
    screen = term.wait_for("MulBackward0", "var_1", "-24")
    assert "Backprop" in screen
    term.keys("q")


def test_replay_of_a_recording_shows_mulbackward_and_the_grad(terminal, tmp_path):
    import shutil

    from tests.fixtures.recordings import fixture

    shutil.copy(fixture("seed_sgd").path, tmp_path / "seed.gstep")
    term = terminal("replay", "seed.gstep", cwd=tmp_path)
    term.wait_for("REPLAY", "step 0/")
    term.keys("B", "s", "s")  # the first backward node, then on to MulBackward0
    screen = term.wait_for("▶ MulBackward0", "var_1 ← -6 × var_2 (4) = -24")
    assert "var_1 ← -6 × var_2 (4) = -24" in screen and "var_2 ← -6 × var_1 (3) = -18" in screen
    term.keys("q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and term.name in subprocess.run(["tmux", "ls"], capture_output=True, text=True).stdout:
        time.sleep(0.1)
    assert term.name not in subprocess.run(["tmux", "ls"], capture_output=True, text=True).stdout, "q did not quit"


def current_line(screen: str) -> int | None:
    """The line number beside ▶ in the source pane, as the terminal shows it."""
    for row in screen.splitlines():
        for cell in row.split("│"):
            before, marker, _after = cell.partition(" ▶ ")
            words = before.split()
            if marker and words and words[-1].isdigit():
                return int(words[-1])
    return None


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_lesson_03_in_the_loop_shows_the_running_line(terminal, tmp_path, size):
    pytest.importorskip("torch")
    term = terminal("lesson", "03", cwd=tmp_path, size=size)
    term.wait_for("LIVE", "paused")
    # ] twice: into the loop's second iteration; then n runs its lines one by one
    # (the phase bar says "iteration 2", or "iter 2" where it is short of room)
    term.keys("]")
    term.wait_for_any("iteration 1 ", "iter 1 ")
    term.keys("]")
    term.wait_for_any("iteration 2 ", "iter 2 ")
    for expected in (88, 89, 90):
        term.keys("n")
        deadline = time.monotonic() + 30
        while current_line(term.screen()) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        screen = term.screen()
        assert current_line(screen) == expected, f"▶ is not on line {expected}:\n{screen}"
    assert "my_sgd.step()" in screen  # line 90's code is on screen beside the ▶


def test_the_source_is_on_screen_before_the_app_has_loaded(terminal, script):
    """The splash (tui.commands.splash): numbered source under a "starting…" bar, before Textual's first frame."""
    path = script("seed_sgd.py")
    term = terminal(str(path), cwd=path.parent, size=(120, 36))
    deadline = time.monotonic() + 30
    seen_splash = False
    while time.monotonic() < deadline:
        screen = term.screen()
        if "loading the debugger" in screen:  # the splash's bar: the app's own header never says this
            seen_splash = True
            assert "starting…" in screen
            assert "var_1 = torch.tensor(3.0, requires_grad=True)" in screen
            break
        if "Next" in screen and "Help" in screen:  # the app's footer already
            break
        time.sleep(0.005)
    assert seen_splash, f"{screen}\nthe app's frame came first: the source was not painted before Textual loaded"
    term.wait_for("Next", "var_1 = torch.tensor(3.0, requires_grad=True)")


def _processes_running(path: Path) -> list[int]:
    """Pids of processes whose command line names `path` (the engine's children on that script)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "tui.engine.child" in cmdline and str(path) in cmdline:
            found.append(int(entry.name))
    return found


def test_restarts_and_quit_during_a_long_native_call_leave_no_child_behind(terminal, tmp_path):
    """r three times while the script holds the GIL in native code, then q: gradstep exits 0 promptly, no child lives on."""
    pytest.importorskip("torch")
    path = tmp_path / "stuck.py"
    path.write_text("import torch\nx = torch.ones(2)\ntotal = sum(range(10**14))  # minutes in C, holding the GIL\n")
    done = tmp_path / "exit-code"
    line = f"{shlex.quote(sys.executable)} -m tui {shlex.quote(str(path))}; echo $? > {shlex.quote(str(done))}"
    term = Terminal(["sh", "-c", line], tmp_path, (120, 36))
    try:
        term.wait_for("x = torch.ones(2)", "Next", timeout=90)
        term.wait_for("step 0", timeout=90)  # the child is up and paused at line 1
        term.keys("c", pause=1.5)  # into sum(): native code, the child's command reader starved
        seen: set[int] = set(_processes_running(path))
        for _ in range(2):
            term.keys("r", pause=0.3)
            term.wait_for("step 0", timeout=90)  # the new child is up
            term.keys("c", pause=1.0)
            seen.update(_processes_running(path))
        assert len(seen) >= 2, f"expected several children over the restarts, saw {seen}"
        term.keys("r", pause=0.1)  # a third restart, and quit at once: the replaced child is still stuck
        seen.update(_processes_running(path))
        started = time.monotonic()
        term.keys("q", pause=0.2)
        # The shell creates the file before it writes the status into it: wait for the status.
        while not (done.exists() and done.read_text().strip()) and time.monotonic() - started < 20:
            time.sleep(0.1)
        assert done.exists(), "gradstep did not exit after q:\n" + term.screen()
        assert done.read_text().strip() == "0"
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 5
        while _processes_running(path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_running(path) == [], "a child outlived the app"
    finally:
        term.close()
