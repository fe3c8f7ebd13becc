"""History you can read: the curve per loop iteration with ▲ where the learner is, gaps for a None .grad.

On a real recording of lesson 03 (one pass before its loop, then 100 iterations),
replayed in the app; assertions read the details pane's text as drawn.
"""

from __future__ import annotations

from tests.fixtures.recordings import lesson, load
from tui.steps.recording import Recording
from tui.ui.app import GradstepApp
from tui.ui.widgets.details import BARS, GAP, HERE, Details
from tui.ui.widgets.tensor_table import TensorTable

# Wide enough that the details pane has a column for every one of lesson 03's 101 points.
WIDE = (320, 60)
# ... and for each of its 285 per-step samples.
WIDER = (440, 60)


def lesson_03() -> Recording:
    return lesson("03-sgd-to-15")


def details_lines(app: GradstepApp) -> list[str]:
    """The details pane's text at its width, line by line (what it draws, scrolled or not)."""
    details = app.screen.query_one(Details)
    return details.render_text(details.scrollable_content_region.width).plain.split("\n")


def after(lines: list[str], caption: str, offset: int = 1) -> str:
    """The line `offset` below the first line starting with `caption`."""
    position = next(index for index, line in enumerate(lines) if line.startswith(caption))
    return lines[position + offset]


async def test_the_loss_curve_has_one_bar_per_iteration_of_lesson_03():
    # GIVEN lesson 03 replayed on a wide terminal, in its 20th iteration
    recording = lesson_03()
    app = GradstepApp(recording=recording)
    async with app.run_test(size=WIDE) as pilot:
        app.history.go(300)
        app.refresh_view()
        await pilot.pause()
        lines = details_lines(app)
        # THEN the loss curve has a bar for the pass before the loop and for each of the 100 iterations
        bars = after(lines, "loss per iteration")
        assert len(bars) == 101 and set(bars) <= set(BARS)
        assert bars[0] == "█"  # the first loss, 9.0, is the largest
        assert "min 1.455e-11  max 9.0000" in after(lines, "loss per iteration", 0)
        # AND ▲ sits under iteration 20's bar (point 20: the pass before the loop is point 0)
        marker = after(lines, "loss per iteration", 2)
        assert marker.index(HERE) == 20
        assert f"{HERE} iteration 20 of 100: loss 0.0041" in marker


async def test_the_marker_moves_with_next_iteration():
    recording = lesson_03()
    app = GradstepApp(recording=recording)
    async with app.run_test(size=WIDE) as pilot:
        app.history.go(300)
        app.refresh_view()
        await pilot.pause()
        before = after(details_lines(app), "loss per iteration", 2)
        # WHEN the learner presses ] twice
        await pilot.press("]", "]")
        await pilot.pause()
        moved = after(details_lines(app), "loss per iteration", 2)
        # THEN ▲ is two bars further on and the label names iteration 22
        assert moved.index(HERE) == before.index(HERE) + 2
        assert "iteration 22 of 100: loss" in moved


async def test_before_the_loop_the_curve_says_so_and_after_it_marks_the_last_iteration():
    recording = lesson_03()
    app = GradstepApp(recording=recording)
    async with app.run_test(size=WIDE) as pilot:
        app.history.go(9)  # the first backward, before the loop
        app.refresh_view()
        await pilot.pause()
        marker = after(details_lines(app), "loss per iteration", 2)
        assert marker.index(HERE) == 0 and "before the loop: loss 9.0000" in marker
        app.history.go(app.history.head)  # the print after the loop
        app.refresh_view()
        await pilot.pause()
        marker = after(details_lines(app), "loss per iteration", 2)
        assert marker.index(HERE) == 100 and "after iteration 100 of 100" in marker


async def test_a_none_grad_is_a_gap_not_the_lowest_bar_and_the_current_step_is_marked():
    recording = lesson_03()
    app = GradstepApp(recording=recording)
    async with app.run_test(size=WIDER) as pilot:
        # GIVEN var_1 followed, at a step where its .grad is None (zero_grad set it to None)
        app.history.go(300)
        app.post_message(TensorTable.TensorSelected("var_1"))
        await pilot.pause()
        assert app.history.step.tensors["var_1"].has_grad is False
        details = app.screen.query_one(Details)
        text = details.render_text(details.scrollable_content_region.width)
        lines = text.plain.split("\n")
        grads = after(lines, ".grad per step")
        series = app.history.series("var_1")
        # THEN every sample without a .grad is a gap, and samples with one are bars
        assert len(grads) == len(series.grads)  # one column per sample at this width
        for glyph, grad in zip(grads, series.grads):
            assert (glyph == GAP) == (grad is None)
        assert grads[0] == GAP  # before the first backward: no .grad, not the lowest bar
        # AND the current step's sample is drawn in the cursor style
        cursor = details.component_style("details--spark-cursor")
        start = text.plain.index(grads)
        here = start + series.here
        styles = [span.style for span in text.spans if span.start <= here < span.end]
        assert cursor in styles


async def test_a_script_without_a_loop_falls_back_to_the_per_step_values():
    # GIVEN a script with no loop (tests/scripts/chain_ops.py), recorded by the engine
    recording = load("chain_ops")
    steps = recording.steps
    assert all(step.iteration is None for step in steps)
    app = GradstepApp(recording=recording)
    async with app.run_test(size=WIDE) as pilot:
        app.history.go(len(steps) // 2)
        app.refresh_view()
        await pilot.pause()
        lines = details_lines(app)
        # THEN there is no per-iteration curve: the per-step values carry ▲ and the label
        assert not any(" per iteration" in line for line in lines)
        marker = after(lines, "value per step", 2)
        assert f"{HERE} step {app.history.current}:" in marker
