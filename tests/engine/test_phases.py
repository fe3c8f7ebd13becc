"""Phases and loop iterations: a hand-written loop reads forward -> backprop -> optimize -> reset like torch.optim."""

from __future__ import annotations

from itertools import groupby

from tests.engine.drive import record, write
from tui.steps.model import Step

CYCLE = ["forward", "backprop", "optimize", "reset"]


def _collapsed(steps: list[Step]) -> list[str]:
    return [phase for phase, _ in groupby(step.phase for step in steps if step.phase is not None)]


def _entered_per_iteration(steps: list[Step]) -> dict[int, list[str]]:
    """For each iteration, the phases it changes into, in order."""
    entered: dict[int, list[str]] = {}
    previous = None
    for step in steps:
        if step.iteration is not None and step.phase != previous and step.phase is not None:
            entered.setdefault(step.iteration, []).append(step.phase)
        previous = step.phase
    return entered


def test_a_hand_written_loop_runs_forward_backprop_optimize_reset_each_iteration(script):
    steps, result = record(script("hand_loop.py"))
    assert result.status == "finished"
    assert _collapsed(steps) == CYCLE * 3
    assert _entered_per_iteration(steps) == {1: CYCLE, 2: CYCLE, 3: CYCLE}
    # The custom Function's own backward() runs inside the backward pass, as backprop.
    custom = [step for step in steps if step.function == "backward" and step.kind == "line"]
    assert custom and {step.phase for step in custom} == {"backprop"}
    assert "SquareBackward" in [step.node.name for step in steps if step.node is not None]


def test_the_same_loop_with_torch_optim_reads_the_same(script):
    steps, _ = record(script("seed_sgd.py"))
    assert _collapsed(steps) == CYCLE * 101  # once before the loop, then once per iteration
    entered = _entered_per_iteration(steps)
    assert sorted(entered) == list(range(1, 101))
    assert all(phases == CYCLE for phases in entered.values())


def test_an_exception_becomes_the_last_step_and_everything_before_stays(script):
    steps, result = record(script("raises.py"))
    assert result.status == "raised"
    last = steps[-1]
    assert last.kind == "exception" and last.line == 8 and last.iteration == 3 and last.loop_line == 5
    assert last.exception.type == "ValueError" and last.exception.message == "the learning rate exploded"
    assert [(frame.line, frame.text) for frame in last.exception.traceback] == [
        (8, 'raise ValueError("the learning rate exploded")')
    ]
    assert result.exception == last.exception
    assert [step.index for step in steps] == list(range(len(steps)))
    assert sum(step.kind == "accumulate" for step in steps) == 2  # two iterations' backward kept


LOOPS = """
def inner(n):
    total = 0
    for k in range(n):
        total += k
    return total

count = 0
for outer in range(2):
    count += inner(2)
while count < 4:
    count += 1
done = True
"""


def test_iterations_count_from_one_and_a_header_belongs_to_the_iteration_that_just_ended(tmp_path):
    steps, _ = record(write(tmp_path, "loops.py", LOOPS))
    trail = [(step.line, step.loop_line, step.iteration) for step in steps if step.kind == "line"]
    assert trail[trail.index((9, 9, 1)) :][:7] == [
        (9, 9, 1),  # entering the loop: iteration 1
        (10, 9, 1),
        (3, 9, 1),  # inner() called from the loop body belongs to the outer loop...
        (4, 4, 1),  # ...until its own loop starts
        (5, 4, 1),
        (4, 4, 1),  # the header after iteration 1 belongs to iteration 1
        (5, 4, 2),
    ]
    assert (9, 9, 2) in trail and (10, 9, 2) in trail and (9, 9, 3) not in trail
    assert trail.count((4, 4, 1)) == 4 and trail.count((4, 4, 2)) == 2  # each call of inner() starts afresh
    whiles = [(line, iteration) for line, loop_line, iteration in trail if loop_line == 11]
    assert whiles == [(11, 1), (12, 1), (11, 1), (12, 2), (11, 2)]
    assert trail[-1] == (13, None, None)
