"""`gradstep show --json` of a recorded backward pass whose grads are too big to keep in full."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import gradstep

BIG_GRADS = """import torch

weights = torch.linspace(-1.0, 1.0, 600, requires_grad=True)
loss = (weights * 3.0).sum()
loss.backward()
"""


def test_node_grads_of_a_large_tensor_carry_a_summary(tmp_path: Path) -> None:
    script = tmp_path / "big_grads.py"
    script.write_text(BIG_GRADS)
    recording = tmp_path / "big.gstep"
    assert gradstep("record", str(script), "-o", str(recording)).returncode == 0
    timeline = json.loads(gradstep("show", str(recording), "--timeline", "--json").stdout)
    step = next(entry["step"] for entry in timeline if entry["node"] == "MulBackward0")
    state = json.loads(gradstep("show", str(recording), "--step", str(step), "--json").stdout)
    arrived, sent = state["node"]["grad_outputs"][0], state["node"]["grad_inputs"][0]
    # sum's backward hands MulBackward0 600 ones; it sends 600 threes on to the weights.
    assert arrived["summary"]["numel"] == 600 and arrived["summary"]["min"] == arrived["summary"]["max"] == 1.0
    assert sent["summary"]["numel"] == 600 and sent["summary"]["mean"] == 3.0 and sent["summary"]["zeros"] == 0
    assert sent["summary"]["first"][:2] == [3.0, 3.0]
