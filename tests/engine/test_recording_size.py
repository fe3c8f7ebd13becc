"""Recordings stay bounded by the work, and a killed `record` leaves a file `show --last` reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.steps.model import Step

GROWING = """\
import torch
w = torch.tensor(1.01, requires_grad=True)
total = torch.tensor(0.0)
for i in range(500):
    total = total + w * i
"""

ENDLESS = """\
import time
import torch
x = torch.tensor(2.0, requires_grad=True)
for i in range(10**9):
    y = x * 3
    time.sleep(0.001)
"""


def gradstep(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "GRADSTEP_PROGRESS_INTERVAL": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "tui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kwargs)  # type: ignore[call-overload]


def recording_endless(tmp_path: Path, name: str, **kwargs: object) -> tuple[subprocess.Popen[str], Path]:
    """`gradstep record` of ENDLESS into tmp_path/name, once its progress says it is recording."""
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS)
    out = tmp_path / name
    process = gradstep("record", str(script), "-o", str(out), **kwargs)
    assert process.stderr is not None
    while not process.stderr.readline().startswith("recording"):
        pass
    return process, out


def show_last(path: Path) -> tuple[int, dict[str, object], str]:
    result = subprocess.run([sys.executable, "-m", "tui", "show", str(path), "--last", "--json"],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_a_growing_graph_loop_of_1000_steps_records_in_under_5_mb(tmp_path: Path) -> None:
    # GIVEN a loop that adds nodes to one graph at every iteration (1,000 line steps and more)
    script = tmp_path / "grow.py"
    script.write_text(GROWING)
    out = tmp_path / "grow.gstep"
    # WHEN it is recorded
    process = gradstep("record", str(script), "-o", str(out))
    _, err = process.communicate(timeout=600)
    # THEN the file stores each new node once, not the whole graph again
    assert process.returncode == 0, err
    code, state, _ = show_last(out)
    assert code == 0 and state["steps"] >= 1000
    assert out.stat().st_size < 5 * 2**20, out.stat().st_size


def test_kill_9_mid_record_leaves_a_file_show_last_reads(tmp_path: Path) -> None:
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS)
    out = tmp_path / "cut.gstep"
    process = gradstep("record", str(script), "-o", str(out))
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for progress past a few hundred steps
        line = process.stderr.readline()
        if line.startswith("recording") and int(line.split(": ")[1].split()[0]) > 300:
            break
    time.sleep(0.6)  # past a flush
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    code, state, err = show_last(out)
    assert code == 0, err
    assert isinstance(state["steps"], int) and state["steps"] > 300
    assert f"the recording ends early: {state['steps']} complete steps" in err


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_ends_record_with_an_interrupted_step(tmp_path: Path, signal_number: int, exit_code: int) -> None:
    process, out = recording_endless(tmp_path, "term.gstep")
    process.send_signal(signal_number)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == exit_code, stdout
    code, state, err = show_last(out)
    assert code == 0 and err == ""  # a whole recording: trailer and index written
    assert state["kind"] == "end"
    shown = subprocess.run([sys.executable, "-m", "tui", "show", str(out)], capture_output=True, text=True, timeout=120)
    assert f"interrupted by {signal.Signals(signal_number).name}" in shown.stdout


def test_a_stop_raised_while_a_step_is_published_ends_the_run_as_a_stop(tmp_path: Path) -> None:
    """record's signal handler can fire inside on_step (a step half written waits, then stops):
    the run must end with its explicit end step, never as gradstep's own failure."""
    from tui.engine.runner import StopScript
    from tui.engine.session import Session

    script = tmp_path / "loop.py"
    script.write_text("x = 0\nfor i in range(1000):\n    x = x + i\n")
    steps: list[Step] = []

    def on_step(step: Step) -> None:
        steps.append(step)
        if len(steps) == 25:
            raise StopScript("interrupted by SIGTERM: the recording ends here")

    result = Session(script, on_step=on_step, mode="record").run()
    assert result.status == "stopped"
    assert steps[-1].kind == "end" and steps[-1].message == "interrupted by SIGTERM: the recording ends here"
    assert len(steps) == 26
