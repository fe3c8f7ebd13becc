"""The chain rule at each backward node, with numbers that are torch's own (recordings of real scripts)."""

from __future__ import annotations

import math

from tests.render.arithmetic import evaluate
from tests.render.recordings import lesson_03, recorded, step_at
from tui.render.chain_rule import edge_grads, known_rule
from tui.render.events import node_words
from tui.render.numbers import scalar, view_number

# Every op the issue names, as tests/scripts/chain_ops.py runs them.
OPS = {
    "MulBackward0", "DivBackward0", "AddBackward0", "SubBackward0", "RsubBackward1", "NegBackward0",
    "PowBackward0", "ExpBackward0", "LogBackward0", "SumBackward0", "MeanBackward0", "MmBackward0",
    "AddmmBackward0", "ReluBackward0", "SigmoidBackward0", "TanhBackward0", "MseLossBackward0",
}  # fmt: skip


def test_lesson_03_mul_backward_reads_as_arithmetic() -> None:
    """GIVEN lesson 03 WHEN backward runs MulBackward0 THEN each input reads grad × the other factor."""
    step = step_at(lesson_03(), "backward", "MulBackward0")
    assert [edge.text() for edge in edge_grads(step.node, step.graph)] == [
        "var_1 ← -6 × var_2 (4) = -24",
        "var_2 ← -6 × var_1 (3) = -18",
    ]
    assert node_words(step.node, step.graph).arrived == "grad in -6 = ∂loss/∂my_latent_value"


def test_lesson_03_pow_backward_reads_grad_times_exponent_times_base() -> None:
    step = step_at(lesson_03(), "backward", "PowBackward0")
    assert [edge.text() for edge in edge_grads(step.node, step.graph)] == ["RsubBackward1 ← 1 × 2 × 3 = 6"]


def test_every_named_op_states_its_rule_and_the_result_is_what_torch_sent() -> None:
    steps = [step for step in recorded("chain_ops.py") if step.kind == "backward"]
    assert OPS <= {step.node.name for step in steps}
    for step in steps:
        edges = edge_grads(step.node, step.graph)
        assert edges, step.node.name
        for edge in edges:
            assert edge.rule is not None, (step.node.name, edge)
            assert edge.text().endswith("= " + view_number(edge.sent))


def test_scalar_rules_evaluate_to_the_grad_torch_sent() -> None:
    """The numbers on the left of `=` give torch's grad (checked from the text, not from the code)."""
    checked = 0
    for step in recorded("chain_ops.py") + lesson_03():
        if step.kind != "backward" or not known_rule(step.node.name):
            continue
        for edge in edge_grads(step.node, step.graph):
            sent = scalar(edge.sent)
            if sent is None or step.node.grad_outputs[0].numel != 1:
                continue
            value = evaluate(edge.rule)
            assert value is not None, edge.rule
            assert math.isclose(value, sent, rel_tol=2e-3, abs_tol=1e-4), (step.node.name, edge.text())
            checked += 1
    assert checked >= 20


def test_an_op_without_a_rule_shows_only_the_grads() -> None:
    step = next(step for step in recorded("mlp_3_2_5.py", 60) if step.kind == "backward" and not known_rule(step.node.name))
    for edge in edge_grads(step.node, step.graph):
        assert edge.rule is None
        assert "×" not in edge.text()


def test_a_rule_whose_saved_tensors_are_missing_is_not_stated() -> None:
    """A graph without the node's saved tensors (freed, or not captured) falls back to the grads."""
    from dataclasses import replace

    step = step_at(lesson_03(), "backward", "MulBackward0")
    graph = replace(step.graph, nodes=tuple(replace(node, saved=()) for node in step.graph.nodes))
    assert [edge.text() for edge in edge_grads(step.node, graph)] == ["var_1 ← -24", "var_2 ← -18"]
