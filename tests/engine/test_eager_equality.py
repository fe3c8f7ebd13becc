"""Recording does not change what a script computes: every final tensor equals a plain run's.

Three tutorial-shaped scripts (tests/engine/tutorial_scripts) are recorded by `gradstep record`
and also run by plain Python, both with one torch thread; the plain run's named tensors at the
end are read by the engine's own view maker and must equal the recording's end step, value,
grad and summary alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.steps.recording import load_recording

SCRIPTS = Path(__file__).parent / "tutorial_scripts"
REPO = Path(__file__).resolve().parents[2]

# Runs the script as `python SCRIPT` would, then prints its named tensors' views as JSON.
PLAIN_RUN = """
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="__main__")
from tui.engine.snapshot import ViewMaker, collect_named
named = collect_named([namespace])
views = ViewMaker().views((name, tensor, role, 0) for name, tensor, role in named.tensors)
print(json.dumps({name: view.to_json() for name, view in views.items()}))
"""


def _comparable(view_json: dict) -> dict:
    """What a plain run can know too (accumulation counts are the engine's own bookkeeping)."""
    return {key: value for key, value in view_json.items() if key != "accumulated"}


@pytest.mark.parametrize("script", ["autograd_by_hand.py", "nn_optim.py", "custom_function.py"])
def test_every_final_tensor_equals_the_plain_run(tmp_path: Path, script: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    path = SCRIPTS / script
    recording = tmp_path / "run.gstep"
    recorded = subprocess.run(
        [sys.executable, "-m", "tui", "record", str(path), "-o", str(recording)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert recorded.returncode == 0, recorded.stderr
    plain = subprocess.run(
        [sys.executable, "-c", PLAIN_RUN, str(path)], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    printed, _, views_line = plain.stdout.rstrip("\n").rpartition("\n")
    expected = json.loads(views_line)
    end = load_recording(recording).steps[-1]
    assert end.kind == "end"
    assert "".join(step.output for step in load_recording(recording).steps) == printed + "\n"
    assert set(end.tensors) == set(expected)
    assert len(expected) >= 3
    for name, view in end.tensors.items():
        assert _comparable(json.loads(json.dumps(view.to_json()))) == _comparable(expected[name]), name
