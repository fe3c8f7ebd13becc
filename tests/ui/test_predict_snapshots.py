"""Snapshots of predict mode on lesson 03 (a real recording): a prediction asked, a wrong answer revealed.

Update baselines only after reading the report (and looking at the SVG as a PNG):
`pytest tests/ui/test_predict_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.ui.lesson_recordings import find_step, lesson_recording
from tui.ui.app import GradstepApp

pytest.importorskip("torch")

WIDE = (160, 48)
NARROW = (80, 24)


def at_first_accumulate(answer: str | None):
    """Lesson 03, predict mode on, `s` from MulBackward0 onto var_1's AccumulateGrad; then type `answer`."""
    recording = lesson_recording("03-sgd-to-15")
    app = GradstepApp(recording=recording, predict=True)
    index = find_step(recording, lambda step: step.node is not None and step.node.name == "MulBackward0")

    async def run_before(pilot) -> None:
        app.history.go(index)
        app.refresh_view()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        if answer is not None:
            await pilot.press(*answer, "enter")
        await pilot.pause()

    return app, run_before


def test_predict_asks_for_var_1_grad(snap_compare):
    """var_1's AccumulateGrad in predict mode, at 160×48: the .grad cell of var_1 shows `?`
    (highlighted); the panel above the footer asks "Predict: var_1.grad after this AccumulateGrad = ?"
    with an empty field and the tolerance; the footer offers only Esc Skip; the phase bar says
    "predict on"; the details pane still shows MulBackward0, where the learner came from."""
    app, run_before = at_first_accumulate(None)
    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_predict_wrong_answer_revealed(snap_compare):
    """After typing -12: var_1's .grad cell reads `-24.0000 ✗` in red; the panel says
    "✗ var_1.grad = -24 — you said -12" then `-6 × var_2 (4) = -24` and `var_1.grad ← -24 (was None)`;
    the phase bar says "predict 0/1 right"; the details pane shows the AccumulateGrad."""
    app, run_before = at_first_accumulate("-12")
    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_predict_asks_at_80_columns(snap_compare):
    """The same question at 80×24: the panel fits, the question and the field are whole."""
    app, run_before = at_first_accumulate(None)
    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)
