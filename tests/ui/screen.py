"""What the UI tests read and how they wait: the screen as text, and settling after keys sent to a live engine."""

from __future__ import annotations

import io


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text (for asserting numbers on screen)."""
    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def settle(pilot, app, timeout: float = 60.0) -> None:
    """Wait until the engine has answered every command, jump and continue sent so far
    (and the app holds a session with at least one step)."""
    control = app.control
    waited = 0.0
    while (
        app.session is None
        or not app.history.steps
        or control.awaiting
        or control.queued
        or control.seek is not None
        or control.continuing
    ):
        await pilot.pause(0.01)
        waited += 0.01
        if waited > timeout:
            raise AssertionError(f"the engine did not answer within {timeout}s (status {app.status!r})")
    await pilot.pause()


async def press(pilot, app, *keys: str) -> str:
    """Press the keys one by one, waiting for the engine after each; the screen's text after the last."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, app)
    return screen_text(app)


def tensor_row(text: str, name: str) -> str:
    """The tensor table's row for `name` (the first screen cell starting with it), or ''."""
    for line in text.splitlines():
        for cell in line.split("│"):
            if cell.strip().startswith(name + " "):
                return cell
    return ""


async def pause_running(app, key: str = "escape", within: float = 5.0) -> None:
    """Send `key` while a continue streams steps in (not through the Pilot, whose wait for idle lasts
    while steps arrive) and wait until the engine has stopped. How fast is the engine's contract,
    measured where the UI's load cannot blur it (tests/engine/test_child_process.py, bench_engine);
    here the UI must get there at all, and soon."""
    import asyncio
    import time

    started = time.perf_counter()
    app.simulate_key(key)
    while app.awaiting or app.control.continuing:
        if time.perf_counter() - started > within:
            raise AssertionError(f"{key} did not stop the continue within {within}s")
        await asyncio.sleep(0.002)
