"""`c` keeps the steps it passes (up to a budget), then says what it ran untraced; Esc still pauses."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.engine.drive import record
from tests.ui.conftest import SIZE
from tests.ui.screen import pause_running, press, screen_text, settle
from tests.ui.test_jumps import lesson_03, line_of, phase_bar
from tui.ui.app import GradstepApp

pytest.importorskip("torch")


def after_the_loop(source: str) -> int:
    return line_of(source, "print(var_1, var_2, var_1 * var_2)")


async def test_continue_over_the_whole_loop_keeps_every_step_record_would():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        target = after_the_loop(app.live_target.source)
        app.control.toggle_breakpoint(target)
        started = time.perf_counter()
        text = await press(pilot, app, "c")
        print(f"continue over lesson 03: {time.perf_counter() - started:.1f} s")
        step = app.history.step
        assert (step.kind, step.line) == ("line", target)
        recorded, _ = record(app.live_target.script)
        upto = next(position for position, kept in enumerate(recorded) if kept.line == target and kept.kind == "line")
        assert len(app.history) == upto + 1  # every step a full recording has up to that line
        assert [(kept.kind, kept.line) for kept in app.history.steps] == [(kept.kind, kept.line) for kept in recorded[: upto + 1]]
        assert not any(kept.kind == "untraced" for kept in app.history.steps)
        assert f"step {upto}/{upto}" in phase_bar(text)
        assert "3.4505" in text  # var_1 after the 100 iterations


async def test_past_the_budget_continue_runs_untraced_and_back_lands_on_what_it_skipped():
    app = GradstepApp(live=lesson_03())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        source = app.live_target.source
        target = after_the_loop(source)
        app.control.toggle_breakpoint(target)
        app.control.continue_budget = 50
        text = await press(pilot, app, "c")
        assert (app.history.step.kind, app.history.step.line) == ("line", target)
        assert len(app.history) == 1 + 50 + 2  # the first step, the budget, the untraced entry, the stop
        assert "3.4505" in text
        last_kept = app.history.steps[50]
        text = await press(pilot, app, "left")
        entry = app.history.step
        assert entry.kind == "untraced"
        loop = line_of(source, "for _ in range(100)")
        assert entry.message.startswith(
            f"ran untraced: lines {last_kept.line}–{target}, iterations {last_kept.iteration}–100 (loop at line {loop})."
        )
        flat = " ".join(text.split())
        assert f"ran untraced: lines {last_kept.line}–{target}" in flat  # the details pane says so
        assert "kept none of its steps" in flat
        text = await press(pilot, app, "left")
        assert app.history.step is last_kept


async def test_continue_in_while_true_pauses_on_escape_and_on_c_again(tmp_path):
    from tui.commands.app import live_target

    stuck = tmp_path / "stuck.py"
    stuck.write_text("import torch\nx = torch.tensor(1.0)\nwhile True:\n    x = x + 1\n")
    app = GradstepApp(live=live_target(stuck))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for key in ("escape", "c"):
            await pilot.press("c")
            await pilot.pause(0.3)
            assert app.control.continuing
            kept = len(app.history)
            await pause_running(app, key)
            await pilot.pause()
            assert app.history.current == app.history.head and app.history.step.line in (3, 4)
            assert len(app.history) >= kept and "paused" in phase_bar(screen_text(app))
        # past a small budget it runs native, and Escape still stops it at once
        app.control.continue_budget = 20
        await pilot.press("c")
        while app.control.seek is not None:
            await pilot.pause(0.01)
        assert app.control.continuing  # untraced now
        await pilot.pause(0.2)
        await pause_running(app)
        await pilot.pause()
        entry = app.history.steps[-2]
        assert entry.kind == "untraced" and "iterations" in entry.message
        assert app.history.step.line in (3, 4)
