"""Replay of an indexed recording read lazily (tui.steps.lazy): the same screens as a whole load, from fewer blocks.

The recordings are the checked-in fixtures, and the same steps written again through the real writer
with small blocks (so a few hundred steps make many blocks, as a million steps do with 1,000-step ones).
"""

from __future__ import annotations

import pytest

import tui.steps.recording as recording_module
import tui.ui.app as app_module
from tests.fixtures.recordings import fixture, load
from tests.ui.conftest import SIZE
from tests.ui.screen import screen_text
from tui.render.numbers import step_counter
from tui.steps.lazy import LazyRecording, LazySteps, open_recording
from tui.steps.recording import Recording, load_recording, write_recording
from tui.ui.app import GradstepApp

# Keys that walk, jump and search: ←/→, End/Home, g is in test_go_to below, ] [, B O R, b and c, n s o.
KEYS = ("right", "right", "right", "end", "left", "home", "right_square_bracket", "right_square_bracket",
        "B", "O", "R", "b", "home", "c", "c", "n", "s", "s", "o", "left_square_bracket", "end", "c")


@pytest.fixture
def small_blocks(tmp_path, monkeypatch):
    """Write a fixture's steps again with blocks of `size` steps: a real multi-block recording."""

    def write(name: str, size: int = 50):
        monkeypatch.setattr(recording_module, "BLOCK_STEPS", size)
        source = load(name)
        path = tmp_path / f"{name}-blocks-of-{size}.gstep"
        write_recording(path, source.header, source.steps)
        monkeypatch.undo()
        return path

    return write


async def screens(recording, keys=KEYS) -> list[str]:
    """The screen once the history is scanned, then after each key."""
    app = GradstepApp(recording=recording)
    shown = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(400):
            if app.history.scanned:
                break
            await pilot.pause(0.02)
        assert app.history.scanned
        await pilot.pause()
        shown.append(screen_text(app))
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            shown.append(screen_text(app))
    return shown


def first_difference(lazy: list[str], eager: list[str]) -> str | None:
    for number, (left, right) in enumerate(zip(lazy, eager)):
        if left != right:
            return f"screen {number} (after {(('open',) + KEYS)[number]}) differs:\n{left}\n---- eager ----\n{right}"
    return None


@pytest.mark.parametrize("name", ["seed_sgd", "lesson-03-sgd-to-15", "raises", "lesson-07-custom-function"])
async def test_lazy_replay_shows_what_the_whole_load_shows(name):
    path = fixture(name).path
    lazy = open_recording(path)
    assert isinstance(lazy, LazyRecording)
    eager_screens = await screens(load_recording(path))
    lazy_screens = await screens(lazy)
    assert len(lazy_screens) == len(KEYS) + 1
    assert first_difference(lazy_screens, eager_screens) is None


async def test_many_small_blocks_show_the_same_screens(small_blocks):
    path = small_blocks("lesson-03-sgd-to-15", 7)  # 204 blocks: every walk and jump crosses block edges
    lazy = open_recording(path)
    assert isinstance(lazy, LazyRecording) and lazy.steps.blocks > 100
    eager_screens = await screens(load_recording(path))
    lazy_screens = await screens(lazy)
    assert first_difference(lazy_screens, eager_screens) is None


async def test_first_paint_decodes_one_block_and_the_scan_fills_the_curve_after(small_blocks):
    # GIVEN a recording of 29 blocks, replayed as `gradstep replay` does
    path = small_blocks("lesson-03-sgd-to-15", 50)
    lazy = open_recording(path)
    assert isinstance(lazy, LazyRecording)
    app = GradstepApp(recording=lazy)
    at_first_paint: list[tuple[int, bool, str]] = []
    display = app._display

    def counted_display(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None and screen is app.main_screen and not at_first_paint:
            at_first_paint.append((lazy.steps.decoded + app.history.steps.decoded, app.history.scanned, screen_text(app)))

    app._display = counted_display
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # THEN the first step was painted from the first block alone, before the scan was done
        decoded, scanned, first_screen = at_first_paint[0]
        assert lazy.steps.blocks == 29
        assert decoded == 1 and not scanned
        assert "REPLAY" in first_screen and step_counter(0, 1422) in first_screen  # every step counted (the index)
        # and the app's own sequence keeps at most a few decoded blocks however far the learner goes
        await pilot.press("end", "home", "end")
        await pilot.pause()
        assert len(app.history.steps._cache) <= 4
        for _ in range(400):
            if app.history.scanned:
                break
            await pilot.pause(0.02)
        # WHEN the scan has read every block THEN the sparklines and the curve are drawn, as a whole load draws them
        assert app.history.scanned
        await pilot.press("home")
        await pilot.pause()
        lazy_screen = screen_text(app)
    eager = GradstepApp(recording=load_recording(path))
    async with eager.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("end", "home")
        await pilot.pause()
        assert screen_text(eager) == lazy_screen


async def test_go_to_a_step_in_a_far_block(small_blocks):
    path = small_blocks("seed_sgd", 20)
    lazy, eager = open_recording(path), load_recording(path)
    texts = []
    for recording in (lazy, eager):
        app = GradstepApp(recording=recording)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#goto-input").value = ""
            await pilot.press(*"1234", "enter")
            await pilot.pause()
            assert app.history.current == 1234
            texts.append(screen_text(app))
    assert texts[0] == texts[1]


async def test_continue_before_the_scan_stops_where_it_has_read_and_says_so(small_blocks, monkeypatch):
    # GIVEN a scan that has not got anywhere yet, and a search allowed 2 blocks past it
    path = small_blocks("lesson-03-sgd-to-15", 50)
    monkeypatch.setattr(app_module, "scan_outline", lambda *args, **kwargs: None)
    monkeypatch.setattr("tui.ui.state.SEARCH_BLOCKS", 2)
    notes: list[str] = []
    app = GradstepApp(recording=open_recording(path))
    monkeypatch.setattr(app, "notify", lambda message, **kwargs: notes.append(str(message)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # WHEN c is pressed with no breakpoint THEN it goes as far as two blocks and says why it stopped
        await pilot.press("c")
        await pilot.pause()
        assert app.history.current == 99
        assert any("Searched up to step 99: the rest of this recording is still being read" in note for note in notes)
        assert step_counter(99, 1422) in screen_text(app)
        # and c again goes on from there
        await pilot.press("c")
        await pilot.pause()
        assert app.history.current == 199


async def test_a_recording_cut_short_still_opens_whole(tmp_path):
    data = fixture("lesson-03-sgd-to-15").path.read_bytes()
    cut = tmp_path / "cut.gstep"
    cut.write_bytes(data[: len(data) * 2 // 3])  # no index, no footer: read from the start, as before
    recording = open_recording(cut)
    assert isinstance(recording, Recording) and not recording.complete
    assert recording.notice is not None and "ends early" in recording.notice
    app = GradstepApp(recording=recording)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert app.history.current == len(recording.steps) - 1 > 100
        assert not isinstance(app.history.steps, LazySteps)
        assert f"{len(recording.steps) - 1}" in screen_text(app).replace(",", "")
