"""The script's input(): through the app's pipe (prompt to the app, line back), and on record's terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest.importorskip("torch")

ASKS = """\
import torch

name = input("your name? ")
count = torch.tensor(float(len(name)))
print("hello", name)
"""


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_input_in_the_child_asks_the_app_and_the_line_lands_in_the_output(tmp_path: Path) -> None:
    from tui.engine.client import ChildSession

    script = tmp_path / "asks.py"
    script.write_text(ASKS)
    steps: list = []
    prompts: list[str] = []
    session = ChildSession(script, on_step=steps.append, on_input=prompts.append)
    try:
        _wait_for(lambda: steps)
        session.resume()
        _wait_for(lambda: prompts)
        assert prompts == ["your name? "]
        session.answer_input("Ada")
        result = session.wait(60)
    finally:
        session.stop()
    assert result is not None and result.status == "finished"
    assert "".join(step.output for step in steps) == "your name? Ada\nhello Ada\n"
    assert steps[-1].tensors["count"].value == 3.0


def test_input_without_an_answerer_ends_at_once_with_eof(tmp_path: Path) -> None:
    from tui.engine.client import ChildSession

    script = tmp_path / "asks.py"
    script.write_text(ASKS)
    steps: list = []
    session = ChildSession(script, on_step=steps.append)
    try:
        _wait_for(lambda: steps)
        session.resume()
        result = session.wait(60)
    finally:
        session.stop()
    assert result is not None and result.status == "raised" and result.exception.type == "EOFError"


def test_record_on_a_terminal_shows_the_prompt_and_reads_the_line(tmp_path: Path) -> None:
    script = tmp_path / "asks.py"
    script.write_text(ASKS)
    recording = tmp_path / "asks.gstep"
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "record", str(script), "-o", str(recording)],
        stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=tmp_path,
    )
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 120
        while b"your name? " not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 4096)
        os.write(master, b"Ada\n")
        out, _ = child.communicate(timeout=120)
    finally:
        child.kill()
        os.close(master)
    assert child.returncode == 0, out
    shown = subprocess.run(
        [sys.executable, "-m", "tui", "show", str(recording), "--last", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert json.loads(shown.stdout)["stdout"] == "your name? Ada\nhello Ada\n"
