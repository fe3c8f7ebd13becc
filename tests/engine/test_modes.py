"""breaks-only runs: steps only at breakpoints (loop headers too) and the end, at native speed in between."""

from __future__ import annotations

from tests.engine.drive import rounded
from tui.engine.session import Session


def _breaks_only(path, breakpoints):
    steps = []
    result = Session(path, on_step=steps.append, mode="breaks-only", breakpoints=breakpoints).run()
    return steps, result


def test_breaks_only_keeps_the_breakpoints_and_the_end(script):
    steps, result = _breaks_only(script("seed_sgd.py"), [15, 19, 22])
    assert result.status == "finished"
    kinds = {step.kind for step in steps}
    assert kinds == {"line", "end"}
    lines = [(step.line, step.iteration) for step in steps[:5]]
    assert lines == [(15, 1), (19, 1), (15, 1), (19, 2), (15, 2)]
    assert [step.phase for step in steps[:3]] == ["reset", "backprop", "reset"]
    assert len(steps) == 101 + 100 + 1 + 1
    end = steps[-1]
    assert end.kind == "end" and rounded(end.tensors["var_1"].value) == 3.4505
    assert end.output == "tensor(3.4505, requires_grad=True) tensor(4.3472, requires_grad=True)\n"


def test_breaks_only_without_breakpoints_emits_only_the_end(script):
    steps, result = _breaks_only(script("raises.py"), [])
    assert result.status == "raised"
    assert [step.kind for step in steps] == ["exception"]
    assert (steps[0].line, steps[0].iteration) == (8, 3)


FOREVER = """import torch
weights = torch.zeros(2)
while True:
    weights += 1
"""


def test_stop_ends_a_breaks_only_run_that_runs_untraced(tmp_path):
    from tests.engine.drive import write

    steps = []
    session = Session(write(tmp_path, "forever.py", FOREVER), on_step=steps.append, mode="breaks-only")
    session.start()
    assert session.wait(0.3) is None  # still running, untraced
    session.stop()
    result = session.wait(10)
    assert result is not None and result.status == "stopped"
    assert [step.kind for step in steps] == ["end"] and steps[0].tensors["weights"].value[0] > 0
