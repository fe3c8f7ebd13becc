"""Snapshots of real lessons, replayed from recordings the engine makes: what a learner sees.

Update baselines only after reading the report: `pytest tests/ui/test_lesson_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from tests.ui.lesson_recordings import find_step, lesson_recording
from tui.ui.app import GradstepApp

WIDE = (160, 48)
MEDIUM = (120, 36)
NARROW = (80, 24)


def replay_at(test, *, theme: str | None = None, lesson: str = "03-sgd-to-15"):
    """A replay of the lesson and a run_before that goes to the first step passing `test`."""
    recording = lesson_recording(lesson)
    app = GradstepApp(recording=recording)
    index = find_step(recording, test)

    async def run_before(pilot) -> None:
        if theme is not None:
            app.theme = theme
        app.history.go(index)
        app.refresh_view()
        await pilot.pause()

    return app, run_before


def mid_loop(step) -> bool:
    return step.iteration == 37 and step.line == 90 and step.kind == "line"


def mul_backward(step) -> bool:
    return step.node is not None and step.node.name == "MulBackward0"


def first_update(step) -> bool:
    return step.kind == "optimizer"


def test_lesson_03_mid_loop(snap_compare):
    """Lesson 03 in iteration 37, about to run `my_sgd.step()` (line 90), at 160×48.

    The source shows the loop (lines 86–93) with ▶ on line 90; each markdown cell above is
    one dim folded row; the narrative pane shows "Now do that a lot of times". The tensors
    table has name, value, .grad and backwards; the details pane has the loss curve with ▲
    under iteration 37.
    """
    app, run_before = replay_at(mid_loop)
    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_lesson_03_mul_backward_chain_rule(snap_compare):
    """The first backward pass at MulBackward0, with the chain rule as arithmetic.

    The tree keeps ✓ PowBackward0 sent 6 and ✓ RsubBackward1 sent -6; under ▶ MulBackward0:
    `var_1 ← -6 × var_2 (4) = -24` and `var_2 ← -6 × var_1 (3) = -18`; ▶ on line 54.
    """
    app, run_before = replay_at(mul_backward)
    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_lesson_03_first_update_arithmetic(snap_compare):
    """The first optimizer sub-step: `var_1: 3.0000 - 0.003 × (-24.0000) = 3.0720`, Optimize lit, at 120×36."""
    app, run_before = replay_at(first_update)
    assert snap_compare(app, terminal_size=MEDIUM, run_before=run_before)


def test_replay_footer_at_80_columns(snap_compare):
    """A replay at 80×24: code above the state; the footer offers help, next, step into, back and
    export (no save, restart or device: replay runs nothing) and the palette; REPLAY on the bar."""
    app, run_before = replay_at(mul_backward)
    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)


def test_lesson_03_mul_backward_light_theme(snap_compare):
    """The MulBackward0 step in textual-light: every pane readable on a light background
    (source highlighted for light, the chain-rule lines and the current line in theme colours)."""
    app, run_before = replay_at(mul_backward, theme="textual-light")
    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_lesson_03_mid_loop_light_theme_narrow(snap_compare):
    """Lesson 03 mid-loop in textual-light at 80×24: ▶ on line 90 in view, the table's four columns."""
    app, run_before = replay_at(mid_loop, theme="textual-light")
    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)
