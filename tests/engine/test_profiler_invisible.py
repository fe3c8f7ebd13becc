"""gradstep's own tensor operations stay out of the script's `torch.autograd.profiler` table."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pathlib import Path

from tests.engine.drive import printed, record, write

PROFILED = """import torch

weights = torch.linspace(-1.0, 1.0, 600, requires_grad=True)
bias = torch.zeros(3, requires_grad=True)
optimizer = torch.optim.SGD([weights, bias], lr=0.1)
with torch.autograd.profiler.profile() as prof:
    loss = (weights * 2.0).sum() + (bias ** 2).sum()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
for event in sorted(prof.key_averages(), key=lambda event: event.key):
    print(event.key, event.count)
"""


def test_the_profiler_table_is_the_same_under_gradstep(tmp_path: Path) -> None:
    script = write(tmp_path, "profiled.py", PROFILED)
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    steps, result = record(script)
    assert result.status == "finished"
    assert any(step.kind == "backward" for step in steps) and any(step.kind == "optimizer" for step in steps)
    table = printed(steps)
    rows = [line for line in table.splitlines() if line.startswith("aten::")]
    assert rows and "aten::mul" in table  # the script's own operators are all there
    assert table == plain.stdout


C_PROFILED = """import cProfile, pstats
import torch

weights = torch.tensor([1.0, 2.0], requires_grad=True)
optimizer = torch.optim.SGD([weights], lr=0.1)
profiler = cProfile.Profile()
profiler.enable()
for _ in range(3):
    loss = (weights * weights).sum()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
profiler.disable()
listed = sorted(file.split("/")[-1] + ":" + name for file, _, name in pstats.Stats(profiler).stats if "tui" in file)
print("gradstep:", " ".join(listed))
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Python's switch for 'a trace function is running' is 3.11+")
def test_making_the_steps_stays_out_of_the_scripts_cprofile(tmp_path: Path) -> None:
    """Inside backward's hooks and the optimizer's, gradstep reads tensors and makes steps as it does at
    a line: out of the script's trace and profile functions. Only the thin wrappers around backward(),
    step() and zero_grad() are the script's calls."""
    script = write(tmp_path, "cprofiled.py", C_PROFILED)
    steps, result = record(script)
    assert result.status == "finished"
    line = next(line for line in printed(steps).splitlines() if line.startswith("gradstep:"))
    listed = set(line.split()[1:])
    assert listed, "the wrappers themselves are the script's calls"
    making = {
        "stepmaker.py:make", "snapshot.py:views", "snapshot.py:view", "snapshot.py:summarize", "snapshot.py:collect_named",
        "graph.py:capture", "recording.py:append", "lines.py:encode", "runner.py:event_step", "runner.py:_emit",
    }
    assert not listed & making, listed & making
