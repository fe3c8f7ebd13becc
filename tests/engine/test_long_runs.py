"""A record run that would pass its step cap keeps its most useful steps (tui/engine/budget.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.engine.drive import printed, record, write

TRAINING = """import torch

var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
optimizer = torch.optim.SGD([var_1, var_2], lr=1e-3)
for epoch in range(300):
    loss = (15 - var_1 * var_2) ** 2
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
print(f"{var_1.item():.6f} {var_2.item():.6f}")
"""

FOREVER = """import torch

total = torch.tensor(0.0)
while True:
    total = total + 1
"""

SUB_STEPS = ("backward", "accumulate", "optimizer", "reset")


def test_a_long_run_keeps_every_step_then_lines_then_sampled_iterations(tmp_path: Path) -> None:
    script = write(tmp_path, "training.py", TRAINING)
    steps, result = record(script, max_steps=400, thin_long_runs=True)
    assert result.status == "finished"
    assert len(steps) <= 401
    first_half, lines_only, sampled = steps[:200], steps[200:300], steps[300:-1]
    assert {step.kind for step in first_half} >= set(SUB_STEPS)  # every sub-step at first
    assert all(step.kind == "line" for step in lines_only + sampled)  # then none
    assert len({step.iteration for step in lines_only}) > 10  # consecutive iterations, lines only
    assert sampled and all(step.iteration is None or step.iteration % 10 == 0 for step in sampled)
    end = steps[-1]
    assert end.kind == "end"
    assert "kept every step up to step 199" in end.message
    assert "line steps only from step 200" in end.message
    assert "every 10th loop iteration from step 300" in end.message
    # What was not kept still ran: the final state is the plain run's.
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    assert printed(steps) == plain.stdout
    var_1 = end.tensors["var_1"].value
    assert f"{var_1:.6f}" == plain.stdout.split()[0]


def test_the_cap_still_ends_a_run_that_never_ends(tmp_path: Path) -> None:
    steps, result = record(write(tmp_path, "forever.py", FOREVER), max_steps=400, thin_long_runs=True)
    assert result.status == "limit"
    assert len(steps) == 401
    limit = steps[-1]
    assert limit.kind == "limit"
    assert limit.message.startswith("step limit reached: 400 steps")
    assert "every 1,000th loop iteration" in limit.message


def test_without_thinning_the_cap_stops_the_run_at_once(tmp_path: Path) -> None:
    steps, result = record(write(tmp_path, "training.py", TRAINING), max_steps=400)
    assert result.status == "limit" and len(steps) == 401
    assert {step.kind for step in steps[300:-1]} & set(SUB_STEPS)
