"""gradstep's own tensor operations stay out of the script's `torch.autograd.profiler` table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.engine.drive import record, write

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
    table = "".join(step.output for step in steps)
    rows = [line for line in table.splitlines() if line.startswith("aten::")]
    assert rows and "aten::mul" in table  # the script's own operators are all there
    assert table == plain.stdout
