"""One wording per event, the grads of finished nodes and ∂loss/∂tensor of non-leaf tensors."""

from __future__ import annotations

from tests.render.recordings import lesson_03, step_at
from tui.render.events import done_text, node_words, pass_events, received_grads, reset_lines, tensor_grad
from tui.render.numbers import view_number


def test_received_grads_give_the_non_leaf_tensors_dloss_dtensor() -> None:
    steps = lesson_03()
    index = step_at(steps, "accumulate").index
    received = received_grads(steps, index)
    assert view_number(tensor_grad(steps[index], received, "my_latent_value")) == "-6"
    assert view_number(tensor_grad(steps[index], received, "loss")) == "1"
    assert tensor_grad(steps[index], received, "var_1") is None  # a leaf: its .grad says it


def test_pass_events_cover_the_pass_so_far_and_nothing_outside_one() -> None:
    steps = lesson_03()
    mul = step_at(steps, "backward", "MulBackward0")
    events = pass_events(steps, mul.index)
    assert sorted(event.name for event in events.values()) == ["MulBackward0", "PowBackward0", "RsubBackward1"]
    assert pass_events(steps, mul.index + 3) == {}  # the line after backward
    assert [done_text(events[node_id]) for node_id in mul.node.done[:2]] == ["sent 6", "sent -6"]


def test_accumulate_grad_says_what_the_leaf_grad_became() -> None:
    step = step_at(lesson_03(), "accumulate")
    assert node_words(step.node, step.graph).lines() == ["AccumulateGrad: grad in -24", "  var_1.grad ← -24 (was None)"]


def test_a_reset_says_what_it_did_to_each_grad() -> None:
    step = step_at(lesson_03(), "reset")
    assert reset_lines(step.reset) == ["my_sgd.zero_grad()", "  var_1.grad set to None", "  var_2.grad set to None"]
