"""The seed example on cuda:0, through the engine: a device switch, a backward pass and an optimizer step.

The same script recorded on cpu and on cuda:0 gives the seed course's numbers on both: grads -24 and
-18 after the first backward, 3.0720 and 4.0540 after the first SGD step. Run by tests/cuda_check.sh
on a GPU machine; elsewhere every test here skips with the reason.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.conftest import SCRIPTS  # noqa: E402
from tests.engine.drive import grads, record, rounded, values  # noqa: E402
from tui.steps.model import Step  # noqa: E402

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (torch.cuda.is_available() is False)"),
]


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed_sgd.py"
    shutil.copy(SCRIPTS / "seed_sgd.py", path)
    return path


def first_backward_and_updates(steps: list[Step]) -> tuple[list[Step], list[Step]]:
    backward = [step for step in steps if step.line == 11 and step.kind in ("backward", "accumulate")]
    updates = [step for step in steps if step.kind == "optimizer"][:2]
    return backward, updates


def test_the_seed_example_recorded_on_cuda_has_the_cpu_numbers(seed: Path) -> None:
    cpu_steps, cpu_result = record(seed, device="cpu")
    cuda_steps, cuda_result = record(seed, device="cuda:0")
    assert cpu_result.status == cuda_result.status == "finished", (cpu_result, cuda_result)
    # The device switch: the script's tensors live on the GPU without the script naming it.
    assert cuda_steps[-1].tensors["var_1"].device == "cuda:0"
    assert cpu_steps[-1].tensors["var_1"].device == "cpu"
    # The backward pass, node by node: the same nodes, and MulBackward0 sends -24 and -18 on.
    cpu_backward, cpu_updates = first_backward_and_updates(cpu_steps)
    backward, updates = first_backward_and_updates(cuda_steps)
    assert [step.node.name for step in backward] == [step.node.name for step in cpu_backward] == [
        "PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad",
    ]
    assert [view.value for view in backward[2].node.grad_inputs] == [-24.0, -18.0]
    assert grads(backward[-1], "var_1") == -24.0 and grads(backward[-1], "var_2") == -18.0
    # The optimizer step, parameter by parameter: 3 - 0.003 × (-24) = 3.0720, 4 - 0.003 × (-18) = 4.0540.
    assert [step.update.param for step in updates] == ["var_1", "var_2"]
    assert rounded(updates[0].update.after.value) == 3.0720 and updates[0].update.grad.value == -24.0
    assert rounded(updates[1].update.after.value) == 4.0540 and updates[1].update.grad.value == -18.0
    assert updates[1].update.after.device == "cuda:0"
    for cpu_update, update in zip(cpu_updates, updates):
        assert update.update.after.value == pytest.approx(cpu_update.update.after.value, abs=1e-6)
    # And the whole run ends where the cpu run does.
    for name in ("var_1", "var_2"):
        assert values(cuda_steps[-1], name) == pytest.approx(values(cpu_steps[-1], name), abs=1e-4)
    assert rounded(values(cuda_steps[-1], "var_1")) == 3.4505


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the child did not get there in time")
        time.sleep(0.005)


def test_a_child_session_on_cuda_steps_through_backward_and_the_optimizer(seed: Path) -> None:
    """ChildSession(device="cuda:0"): the header says cuda:0; step into backward, over the SGD step."""
    from tui.engine.client import ChildSession

    steps: list[Step] = []
    session = ChildSession(seed, on_step=steps.append, device="cuda:0")
    try:
        assert session.header.device == "cuda:0" and session.header.device_name
        wait_for(lambda: steps)

        def send(command: str) -> Step:
            count = len(steps)
            getattr(session, command)()
            wait_for(lambda: len(steps) > count)
            return steps[-1]

        while steps[-1].line != 11:
            send("step_over")
        names = []
        while len(names) < 5:
            step = send("step_into")
            if step.kind in ("backward", "accumulate"):
                names.append(step.node.name)
        assert names == ["PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
        while steps[-1].line != 13 or steps[-1].kind in ("backward", "accumulate", "optimizer"):
            send("step_over")
        after = steps[-1]
        assert after.tensors["var_1"].device == "cuda:0"
        assert grads(after, "var_1") == -24.0 and grads(after, "var_2") == -18.0
        assert rounded(values(after, "var_1")) == 3.0720 and rounded(values(after, "var_2")) == 4.0540
        session.resume()
        result = session.wait(60)
        assert result is not None and result.status == "finished", result
        assert rounded(values(steps[-1], "var_1")) == 3.4505
    finally:
        session.stop()
