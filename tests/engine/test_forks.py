"""Scripts whose DataLoader forks worker processes: the workers run untraced and record nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.engine.drive import Driver, printed
from tui.steps.recording import load_recording


def test_recording_a_script_with_dataloader_workers_loads_and_matches_python(script, tmp_path: Path) -> None:
    path = script("dataloader_workers.py")
    plain = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=True)
    out = tmp_path / "workers.gstep"
    recorded = subprocess.run(
        [sys.executable, "-m", "tui", "record", str(path), "-o", str(out)], capture_output=True, text=True, timeout=240
    )
    assert recorded.returncode == 0, recorded.stderr
    steps = load_recording(out).steps  # the workers wrote nothing into the file
    assert steps[-1].kind == "end"
    assert [step.index for step in steps] == list(range(len(steps)))
    assert printed(steps) == plain.stdout


def test_stepping_into_a_dataloader_loop_does_not_wait_on_its_workers(script) -> None:
    driver = Driver(script("dataloader_workers.py"))
    try:
        step = driver.first
        while step.line != 18:  # the loss line, inside the loop over batches
            step = driver.send("step_into")
        assert step.iteration == 1
        assert step.tensors["inputs"].shape == (250, 1)
    finally:
        driver.close()
