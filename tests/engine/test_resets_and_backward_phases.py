"""Resets by hand are reset steps; backward's own Python code is backprop; breaks-only agrees with a full record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.engine.drive import Driver, record, write
from tui.engine.session import Session
from tui.render.events import step_event_lines
from tui.steps.break_lines import statement_lines
from tui.steps.model import Step

# A tutorial-shaped two-layer net: a custom ReLU Function whose backward reads a non-leaf it
# saved, a tensor hook, a manual update and both ways of resetting a .grad by hand.
SCRIPT = """\
import torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


torch.manual_seed(0)
x = torch.randn(4, 3)
y = torch.randn(4, 2)
w1 = torch.randn(3, 5, requires_grad=True)
w2 = torch.randn(5, 2, requires_grad=True)
w1.register_hook(lambda grad: grad * 1.0)
for t in range(3):
    y_pred = MyReLU.apply(x.mm(w1)).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= 1e-3 * w1.grad
        w2 -= 1e-3 * w2.grad
        w1.grad.zero_()
        w2.grad = None
done = True
"""
ZERO_LINE, NONE_LINE, HOOK_LINE = 31, 32, 23
BACKWARD_LINES = range(12, 16)


def _script(tmp_path: Path) -> Path:
    return write(tmp_path, "two_layer_custom.py", SCRIPT)


def test_grad_zero_and_grad_none_are_reset_steps_with_their_own_event(tmp_path):
    steps, result = record(_script(tmp_path))
    assert result.status == "finished"
    resets = [step for step in steps if step.kind == "reset"]
    zero = [step for step in resets if not step.reset.set_to_none]
    none = [step for step in resets if step.reset.set_to_none]
    assert [(step.line, step.iteration, step.reset.source, step.reset.tensors) for step in zero] == [
        (ZERO_LINE, iteration, "w1.grad.zero_()", ("w1",)) for iteration in (1, 2, 3)
    ]
    assert [(step.line, step.iteration, step.reset.source, step.reset.tensors) for step in none] == [
        (NONE_LINE, iteration, "w2.grad = None", ("w2",)) for iteration in (1, 2, 3)
    ]
    assert len(resets) == 6
    for step in zero:
        assert step.phase == "reset"
        view = step.tensors["w1"]
        assert view.has_grad and view.accumulated == 0
        assert {value for row in view.grad for value in row} == {0.0}
        assert step_event_lines(step)[:2] == ["w1.grad.zero_()", "  w1.grad zeroed (filled with 0, kept)"]
    for step in none:
        assert step.phase == "reset" and not step.tensors["w2"].has_grad
        assert step_event_lines(step)[:2] == ["w2.grad = None", "  w2.grad set to None"]
    # Each comes right after the line that did it, before the next line runs.
    for step in resets:
        before = steps[step.index - 1]
        assert before.kind in ("line", "reset") and (before.line == step.line or before.kind == "reset")


def test_a_custom_functions_backward_and_a_hook_are_backprop(tmp_path):
    steps, _ = record(_script(tmp_path))
    inside = [step for step in steps if step.kind == "line" and step.function in ("backward", "<lambda>")]
    assert {step.line for step in inside} == {*BACKWARD_LINES, HOOK_LINE}
    assert {step.phase for step in inside} == {"backprop"}
    # The phase bar never goes back to forward between a backward() and the update after it.
    for iteration in (1, 2, 3):
        phases = [step.phase for step in steps if step.iteration == iteration]
        first_backprop = phases.index("backprop")
        assert "forward" not in phases[first_backprop:]


def _line_phases(steps: list[Step]) -> dict[tuple[int | None, int | None, str, int], str | None]:
    seen: Counter[tuple[int | None, int | None, str]] = Counter()
    phases = {}
    for step in steps:
        if step.kind != "line":
            continue
        key = (step.line, step.iteration, step.function)
        seen[key] += 1
        phases[(*key, seen[key])] = step.phase
    return phases


def test_breaks_only_gives_each_step_the_phase_a_full_record_gives_it(tmp_path, script):
    for path in (_script(tmp_path), script("hand_loop.py"), script("seed_sgd.py")):
        source = path.read_text()
        every_statement = sorted(line for line, owner in statement_lines(source).items() if line == owner)
        full, _ = record(path)
        kept: list[Step] = []
        Session(path, on_step=kept.append, mode="breaks-only", breakpoints=every_statement).run()
        recorded, broken = _line_phases(full), _line_phases(kept)
        shared = set(recorded) & set(broken)
        assert len(shared) > 0.7 * len(broken), path.name
        assert {key: recorded[key] for key in shared} == {key: broken[key] for key in shared}, path.name


def test_stepping_into_stops_at_a_reset_by_hand(tmp_path):
    driver = Driver(_script(tmp_path))
    try:
        step = driver.first
        while not (step.kind == "line" and step.line == ZERO_LINE):
            step = driver.send("step_into")
        reset = driver.send("step_into")
        assert (reset.kind, reset.line, reset.reset.source) == ("reset", ZERO_LINE, "w1.grad.zero_()")
        after = driver.send("step_into")
        assert (after.kind, after.line) == ("line", NONE_LINE)
        reset = driver.send("step_into")
        assert (reset.kind, reset.line, reset.reset.source) == ("reset", NONE_LINE, "w2.grad = None")
    finally:
        driver.close()
