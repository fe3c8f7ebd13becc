"""The running line is always on screen: every step of real lessons, at the sizes learners use."""

from __future__ import annotations

import pytest
from textual.events import MouseScrollDown

from tests.ui.lesson_recordings import lesson_recording
from tests.ui.screen import screen_text
from tui.ui.app import GradstepApp
from tui.ui.widgets.source_view import CURRENT, SourceView

SIZES = [(160, 48), (80, 24)]
LESSONS = [("03-sgd-to-15", None), ("05-my-network", 300), ("07-custom-function", None)]
# The screen text is read (slower than geometry) at every this-many steps.
READ_EVERY = 25


def marked_line(text: str) -> int | None:
    """The line number the ▶ marker stands on, read from the screen."""
    for row in text.splitlines():
        cells = row.split("│")
        for cell in cells:
            before, marker, _after = cell.partition(f" {CURRENT} ")
            if marker and before.strip().split()[-1:] and before.strip().split()[-1].isdigit():
                return int(before.strip().split()[-1])
    return None


def on_every_step(app, recording):
    """Go to each step that has a line; check its row is unfolded and on screen; yield (index, step)."""
    view = app.screen.query_one(SourceView)
    for index, step in enumerate(recording.steps):
        app.history.go(index)
        app.refresh_view()
        if step.line is None:
            continue
        # THEN the row that shows the step's line is among the rows on screen
        row = view.row_of(step.line)
        assert view.line_at(row) == step.line, f"step {index}: line {step.line} is folded away"
        assert row in view.visible_rows(), f"step {index}: line {step.line} (row {row}) is off screen at {app.size}"
        yield index, step


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize(("lesson", "max_steps"), LESSONS, ids=[lesson for lesson, _ in LESSONS])
async def test_the_current_line_is_visible_at_every_step(lesson, max_steps, size):
    recording = lesson_recording(lesson, max_steps)
    app = GradstepApp(recording=recording)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for index, step in on_every_step(app, recording):
            if index % READ_EVERY == 0 or index == len(recording.steps) - 1:
                # ...and the painted screen has ▶ on that line.
                await pilot.pause()
                assert marked_line(screen_text(app)) == step.line, f"step {index}: ▶ is not on line {step.line}"


def long_script(lines: int = 300) -> str:
    """A script of `lines` lines: tensors made and changed, with a loop near the end."""
    body = ["import torch", "x = torch.tensor(1.0, requires_grad=True)"]
    while len(body) < lines - 4:
        body.append(f"y_{len(body)} = x * {len(body)}")
    body += ["for _ in range(3):", "    loss = (x * 2) ** 2", "    loss.backward()", "print(x.grad)"]
    return "\n".join(body) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_a_300_line_script_keeps_its_current_line_in_view(tmp_path, size):
    from tui.engine.session import Session
    from tui.steps.recording import load_recording, write_recording

    script = tmp_path / "long.py"
    script.write_text(long_script())
    steps = []
    session = Session(script, on_step=steps.append, mode="record")
    session.run()
    write_recording(tmp_path / "long.gstep", session.header, steps)
    recording = load_recording(tmp_path / "long.gstep")
    app = GradstepApp(recording=recording)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for _index, _step in on_every_step(app, recording):
            pass
        await pilot.pause()
        assert marked_line(screen_text(app)) == recording.steps[-1].line


async def test_the_source_scrolls_by_keys_when_focused_and_by_wheel():
    recording = lesson_recording("07-custom-function")
    app = GradstepApp(recording=recording)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(SourceView)
        assert view.allow_vertical_scroll and view.max_scroll_y > 0
        view.focus()
        top = view.scroll_offset.y
        await pilot.press("pagedown")
        await pilot.pause()
        assert view.scroll_offset.y > top
        after_keys = view.scroll_offset.y
        await pilot.press("up")
        await pilot.pause()
        assert view.scroll_offset.y == after_keys - 1
        view._on_mouse_scroll_down(MouseScrollDown(view, 2, 2, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert view.scroll_offset.y > after_keys - 1
