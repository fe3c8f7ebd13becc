"""`gradstep serve`: the app in a real headless Chromium over textual-serve on 127.0.0.1, driven by key presses.

The browser's terminal draws on a canvas, so the test reads what the server sends it:
the websocket's frames are the app's terminal output, escape sequences stripped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.browser import browser_page, needs_chromium
from tests.engine.recorded import seed_recording
from tui.steps.recording import load_recording

pytestmark = needs_chromium
ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, server: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gradstep serve exited with {server.returncode}: {server.stdout.read() if server.stdout else ''}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@pytest.fixture
def served(tmp_path: Path):
    """`gradstep serve SEED.gstep --port N` in its own process group, stopped after the test."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", str(seed_recording()), "--port", str(port)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        wait_for_port(port, server)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


class Screen:
    """What the server sent the page's terminal since the last `clear()`, as text."""

    def __init__(self, page) -> None:
        self.page = page
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload: bytes | str) -> None:
        self.frames.append(payload if isinstance(payload, bytes) else payload.encode())

    def clear(self) -> None:
        self.frames.clear()

    def text(self) -> str:
        return ESCAPE.sub("", b"".join(self.frames).decode("utf-8", "ignore"))

    def wait_for(self, *words: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(200)  # Playwright's sync API delivers events only while it is called
            text = self.text()
            if all(word in text for word in words):
                return text
        raise AssertionError(f"never saw {words} on the served screen; last: {self.text()[-2000:]!r}")


def test_serve_connects_and_keys_step_to_mul_backward(served: int, tmp_path: Path) -> None:
    """GIVEN the seed recording served WHEN → then g N Enter THEN the screen shows MulBackward0 with -24 and -18."""
    steps = load_recording(seed_recording()).steps
    mul = next(step.index for step in steps if step.node is not None and step.node.name == "MulBackward0")
    last = len(steps) - 1
    with browser_page() as tab:
        screen = Screen(tab.page)
        tab.page.goto(f"http://127.0.0.1:{served}")
        screen.wait_for(f"step 0/{last}", "REPLAY")  # connected: the app drew its first step
        tab.page.mouse.click(300, 300)  # focus the terminal (the source pane)
        screen.clear()
        tab.page.keyboard.press("ArrowRight")
        screen.wait_for(f"step 1/{last}")
        screen.clear()
        for key in ["g", *str(mul), "Enter"]:
            tab.page.keyboard.press(key)
            tab.page.wait_for_timeout(150)
        text = screen.wait_for(f"step {mul}/{last}", "MulBackward0", "-24", "-18")
        assert "var_1 ← -6 × var_2 (4) = -24" in text or "= -24" in text
        tab.page.screenshot(path=str(tmp_path / "served.png"))
    assert (tmp_path / "served.png").stat().st_size > 10_000
