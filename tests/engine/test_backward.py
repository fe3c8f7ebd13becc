"""Inside backward() and optimizer.step(): the seed course's numbers, node by node and parameter by parameter."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch

from tests.conftest import SCRIPTS
from tests.engine.drive import grads, record, rounded, values, write
from tui.steps.model import Step


@pytest.fixture(scope="module")
def seed_steps(tmp_path_factory) -> list[Step]:
    """Every step of tests/scripts/seed_sgd.py, recorded once for this module."""
    path = tmp_path_factory.mktemp("seed") / "seed_sgd.py"
    shutil.copy(SCRIPTS / "seed_sgd.py", path)
    steps, result = record(path)
    assert result.status == "finished"
    return steps


def test_first_backward_runs_node_by_node_and_leaves_the_seed_grads(seed_steps):
    steps = seed_steps
    first_backward = [step for step in steps if step.line == 11 and step.kind in ("backward", "accumulate")]
    assert [step.node.name for step in first_backward] == [
        "PowBackward0",
        "RsubBackward1",
        "MulBackward0",
        "AccumulateGrad",
        "AccumulateGrad",
    ]
    assert [step.kind for step in first_backward] == ["backward"] * 3 + ["accumulate"] * 2
    last = first_backward[-1]
    assert grads(last, "var_1") == -24.0
    assert grads(last, "var_2") == -18.0
    # What arrived at MulBackward0 and what it sent on: d loss / d latent = -6, times the other factor.
    mul = first_backward[2].node
    assert [view.value for view in mul.grad_outputs] == [-6.0]
    assert [view.value for view in mul.grad_inputs] == [-24.0, -18.0]
    assert {step.node.leaf for step in first_backward[3:]} == {"var_1", "var_2"}
    assert list(last.node.done) == [step.node.node_id for step in first_backward]


def test_optimizer_steps_one_parameter_at_a_time_and_the_run_ends_at_the_seed_values(seed_steps):
    steps = seed_steps
    updates = [step for step in steps if step.kind == "optimizer"][:2]
    assert [step.update.param for step in updates] == ["var_1", "var_2"]
    first, second = updates
    assert rounded(values(first, "var_1")) == 3.0720 and values(first, "var_2") == 4.0  # var_2 not yet updated
    assert rounded(values(second, "var_1")) == 3.0720 and rounded(values(second, "var_2")) == 4.0540
    assert second.update.before.value == 4.0 and second.update.grad.value == -18.0
    assert rounded(second.update.after.value) == 4.0540
    end = steps[-1]
    assert end.kind == "end"
    assert rounded(values(end, "var_1")) == 3.4505 and rounded(values(end, "var_2")) == 4.3472
    reset = next(step for step in steps if step.kind == "reset")
    assert reset.reset.source == "my_sgd" and set(reset.reset.tensors) == {"var_1", "var_2"}
    assert grads(reset, "var_1") is None and grads(reset, "var_2") is None
    assert reset.scalars["my_sgd.lr"] == 3e-3


def test_a_second_backward_without_reset_accumulates_number_by_number(script):
    steps, _ = record(script("accumulate.py"))
    accumulations = [step for step in steps if step.kind == "accumulate" and step.node.leaf == "x"]
    first, second = accumulations
    assert first.node.grad_before is None and first.node.grad_after.value == (1.0, 1.0, 1.0)
    assert grads(first, "x") == (1.0, 1.0, 1.0) and first.tensors["x"].accumulated == 1
    assert second.node.grad_before.value == (1.0, 1.0, 1.0)
    assert second.node.grad_after.value == (2.0, 2.0, 2.0)
    assert second.tensors["x"].accumulated == 2
    assert steps[-1].output == "tensor([2., 2., 2.])\n"


def test_the_graph_before_backward_holds_nodes_edges_leaves_and_saved_values(seed_steps):
    steps = seed_steps
    before = next(step for step in steps if step.kind == "line" and step.line == 11)
    graph = before.graph
    by_name = {node.name: node for node in graph.nodes if node.name != "AccumulateGrad"}
    pow_node, rsub, mul = by_name["PowBackward0"], by_name["RsubBackward1"], by_name["MulBackward0"]
    leaves = {node.leaf: node for node in graph.nodes if node.name == "AccumulateGrad"}
    assert set(leaves) == {"var_1", "var_2"}
    assert graph.root_of("loss") == pow_node.id and graph.root_of("my_latent_value") == mul.id
    assert pow_node.next == (rsub.id,) and rsub.next == (mul.id,)
    assert mul.next == (leaves["var_1"].id, leaves["var_2"].id)
    assert dict(pow_node.attrs) == {"exponent": "2", "self": "[saved tensor]"}
    assert dict(pow_node.saved)["self"].value == 3.0
    assert dict(mul.attrs) == {"other": "[saved tensor]", "self": "[saved tensor]"}
    saved = dict(mul.saved)
    assert saved["self"].value == 3.0 and saved["other"].value == 4.0
    # The saved tensors of MulBackward0 are the leaves themselves, drawn as one node each.
    refs = dict(zip((name for name, _ in mul.saved), mul.saved_refs))
    assert refs["self"] == leaves["var_1"].variable_ref and refs["other"] == leaves["var_2"].variable_ref
    assert leaves["var_1"].variable.value == 3.0
    # Sub-steps show this same pre-backward graph; the node ids they name are its nodes.
    sub_steps = [step for step in steps if step.line == 11 and step.node is not None]
    assert all(step.graph is graph for step in sub_steps)
    assert {step.node.node_id for step in sub_steps} == {node.id for node in graph.nodes}
    # After backward the saved tensors are freed: same labels, no values.
    after = next(step for step in steps if step.kind == "line" and step.line == 12)
    assert dict(after.graph.node(pow_node.id).saved)["self"] is None
    assert dict(after.graph.node(pow_node.id).attrs)["self"] == "[saved tensor]"


def test_unchanged_state_reuses_the_same_views_and_graph(seed_steps):
    steps = seed_steps
    at_12, at_13 = (next(step for step in steps if step.kind == "line" and step.line == line) for line in (12, 13))
    optimizer_last = next(step for step in steps if step.kind == "optimizer" and step.update.param == "var_2")
    assert at_13.tensors["var_1"] is optimizer_last.tensors["var_1"]
    assert at_12.tensors["loss"] is at_13.tensors["loss"]
    assert at_13.graph is optimizer_last.graph


PROBE_SCRIPT = """
import torch
from torch.optim import SGD
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
opt = SGD([x], lr=0.1, momentum=0.9)
for _ in range(3):
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    grad_x, = torch.autograd.grad(loss, [x])
    opt.step()
    opt.zero_grad()
print(repr(x.tolist()), repr(grad_x.tolist()), len(x._post_accumulate_grad_hooks or {}), len(x._backward_hooks or {}))
"""


def patch_points() -> tuple:
    """What gradstep replaces for a run: torch's backward/grad/zero_grad, the streams, __import__."""
    import builtins

    return (
        torch.autograd.backward,
        torch.autograd.grad,
        torch.optim.Optimizer.zero_grad,
        torch.nn.Module.zero_grad,
        sys.stdout,
        sys.stderr,
        builtins.__import__,
    )


def test_the_script_computes_the_same_with_and_without_gradstep_and_nothing_is_left_behind(tmp_path):
    path = write(tmp_path, "probe.py", PROBE_SCRIPT)
    alone = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True).stdout
    originals = patch_points()
    steps, result = record(path)
    assert result.status == "finished"
    assert steps[-1].output == alone
    assert any(step.kind == "optimizer" for step in steps)
    # The momentum buffer is named after the script's own name for the parameter.
    last_optimizer = [step for step in steps if step.kind == "optimizer"][-1]
    assert "opt.state.x.momentum_buffer" in last_optimizer.tensors
    assert patch_points() == originals
    from torch.optim import optimizer

    assert not optimizer._global_optimizer_pre_hooks and not optimizer._global_optimizer_post_hooks


ADAM_TWO = """\
import torch
a = torch.tensor([1.0, -2.0], requires_grad=True)
b = torch.tensor([0.5, 0.25], requires_grad=True)
opt = torch.optim.Adam([a, b], lr=0.1)
for _ in range(2):
    loss = (a * a).sum() + (b * 3).sum()
    loss.backward()
    opt.step()
    opt.zero_grad()
"""


def test_while_step_shows_one_parameter_the_next_keeps_its_value_and_state_from_before(tmp_path):
    steps, _ = record(write(tmp_path, "adam_two.py", ADAM_TWO))
    before_step = [step for step in steps if step.kind == "line" and step.line == 8][1]  # opt.step(), 2nd time
    first, second = [step for step in steps if step.kind == "optimizer"][2:4]
    assert (first.update.param, second.update.param) == ("a", "b")
    # At a's sub-step, b and its Adam state are as they were before opt.step()...
    for name in ("b", "opt.state.b.exp_avg", "opt.state.b.exp_avg_sq", "opt.state.b.step"):
        assert first.tensors[name].value == before_step.tensors[name].value, name
    assert first.tensors["opt.state.b.step"].value == 1.0
    # ...and b's own sub-step shows that as its state before, and the state after in the step's tensors.
    assert dict(second.update.state_before)["exp_avg"].value == first.tensors["opt.state.b.exp_avg"].value
    assert dict(second.update.state_after)["exp_avg"].value == second.tensors["opt.state.b.exp_avg"].value
    assert second.tensors["opt.state.b.step"].value == 2.0 and first.tensors["opt.state.a.step"].value == 2.0
    # Adam's first step creates the state: at a's sub-step, b has none yet; at b's, it has.
    first_a, first_b = [step for step in steps if step.kind == "optimizer"][:2]
    assert "opt.state.a.exp_avg" in first_a.tensors and "opt.state.b.exp_avg" not in first_a.tensors
    assert "opt.state.b.exp_avg" in first_b.tensors and first_b.update.state_before == ()


def test_a_recorded_update_names_the_views_its_steps_hold_and_loads_back_equal(tmp_path):
    import gzip
    import json

    from tui.cli import main
    from tui.steps.recording import load_recording

    script = write(tmp_path, "adam_two.py", ADAM_TWO)
    in_memory, _ = record(script)
    output = tmp_path / "adam_two.gstep"
    assert main(["record", str(script), "-o", str(output)]) == 0
    updates = [json.loads(line)["step"]["update"] for line in gzip.open(output, "rt") if '"update":{' in line]
    assert len(updates) == 4 and updates[0]["state_before"] == {}  # Adam keeps no state before its first step
    for update in updates:  # format 4: nothing the steps hold is written again
        assert update["after"] == {"named": update["param"]}
        assert update["before"] == {"was": update["param"]}
        assert update["state_after"]["exp_avg"] == {"named": f"opt.state.{update['param']}.exp_avg"}
    for update in updates[2:]:
        assert update["state_before"]["exp_avg_sq"] == {"was": f"opt.state.{update['param']}.exp_avg_sq"}
    loaded = load_recording(output).steps
    assert [step.update for step in loaded] == [step.update for step in in_memory]
    assert [dict(step.tensors) for step in loaded] == [dict(step.tensors) for step in in_memory]
