"""Snapshot tests: what the learner sees, at a fixed 160×48 terminal, from checked-in recordings of real scripts.

Update baselines only after reading the report: `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.fixtures.recordings import load
from tests.ui.conftest import SIZE, FakeLive
from tui.ui.app import GradstepApp

LESSONS = [
    SimpleNamespace(id="01-tensors", title="Tensors", summary="Scalars, vectors, matrices; broadcasting; @ versus *.", path=Path("01.py")),
    SimpleNamespace(id="02-autograd", title="Autograd", summary="var_1 * var_2, backward, and the grads (4., 3.).", path=Path("02.py")),
    SimpleNamespace(id="03-sgd-to-15", title="SGD to 15", summary="Backprop, optimize, reset: (3.0720, 4.0540) after one step.", path=Path("03.py")),
]


def live_until(name: str, stop_index: int):
    """A fake live app on recording `name`'s script and a run_before that posts its steps[0..stop_index] as the engine would."""
    live = FakeLive.of(name)
    steps = load(name).steps

    async def run_before(pilot) -> None:
        await live.started(pilot)
        for step in steps[: stop_index + 1]:
            await live.emit(pilot, step)
        await pilot.pause()

    return live.app, run_before


def test_main_screen_mid_backward(snap_compare):
    """The seed example inside loss.backward(), at MulBackward0: LIVE, Backprop lit, step 10/10.

    The grad_fn tree runs from loss down to the two AccumulateGrad leaves (var_1, var_2);
    PowBackward0 and RsubBackward1 are ticked done with what they sent (6, -6), MulBackward0 is
    highlighted with its chain rule: "var_1 ← -6 × var_2 (4) = -24" and "var_2 ← -6 × var_1 (3) = -18".
    Line 11 is the current line; 2–10 are marked run.
    """
    steps = load("seed_sgd").steps
    mul = next(step.index for step in steps if step.node is not None and step.node.name == "MulBackward0")
    app, run_before = live_until("seed_sgd", mul)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_accumulation_warning(snap_compare):
    """tests/scripts/seed_no_reset.py, two backward passes without zero_grad(): the red banner names var_1 (2×) and var_2 (2×).

    The backwards column shows "2× ⚠" in red for both leaves; var_1.grad is -44.6… (-24 plus the
    second pass), and the details read "var_2.grad ← -18 + -15.6433 = -33.6433".
    """
    steps = load("seed_no_reset").steps
    second = [step for step in steps if step.kind == "accumulate"][3]
    app, run_before = live_until("seed_no_reset", second.index)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_replay_mode(snap_compare):
    """A recording opened with `gradstep replay`: REPLAY in the phase bar, read-only, at the first optimizer sub-step.

    Optimize is lit; the footer offers no save, restart or device; details show the update's arithmetic.
    """
    app = GradstepApp(recording=load("seed_sgd"))
    assert snap_compare(app, terminal_size=SIZE, press=["O"])


def test_exception_shown(snap_compare):
    """tests/scripts/raises.py raising in its third iteration: line 8 in red in the source, and the
    output pane ends with "ValueError: the learning rate exploded (line 8)" and the script's frame.
    """
    app = GradstepApp(recording=load("raises"))
    assert snap_compare(app, terminal_size=SIZE, press=["c"])


def test_help_screen(snap_compare):
    """The ? help: every key with what it does (Escape twice: pause, and back to the lessons), then the mouse actions."""
    app = GradstepApp(recording=load("seed_sgd"))
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"])


def test_lesson_picker(snap_compare):
    """`gradstep` alone: three lessons listed with id, title and summary; the first is highlighted."""
    app = GradstepApp(lessons=LESSONS, open_lesson=lambda lesson: None)
    assert snap_compare(app, terminal_size=SIZE)
