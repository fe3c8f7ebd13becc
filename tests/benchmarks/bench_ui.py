"""UI speed: keypress to screen updated (Pilot), replay of 10,000 steps and a live run to first paint.

Run: `.venv/bin/python tests/benchmarks/bench_ui.py` (not collected by pytest). Prints one table;
every figure is measured in this run, side by side.

How "screen updated" is measured: from just before Pilot sends the key event to the end of
the last screen write the key caused. A screen write is Textual's compositor update plus its
encoding into terminal bytes (the headless driver skips that step, so it is done here, as a
real terminal would need it). After Pilot's own wait for idle, each key gets a further
SETTLE_S so that a late frame (a second refresh, a scroll after the refresh) is still
counted. Pilot's waits add time that is not the app's, so the end is taken from the frame
hook, never from when Pilot returns. Layout passes per key are counted too: each one
re-arranges the whole screen.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from textual.app import App  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import Label  # noqa: E402

from tests.fixtures.recordings import load  # noqa: E402
from tui.ui.app import GradstepApp  # noqa: E402
from tui.ui.messages import StepCaptured  # noqa: E402

SIZE = (160, 48)
# 10 Linear(100, 100) layers with a ReLU between: 101,000 parameters, a grad_fn graph of 52 nodes.
WIDE_MODEL = """
import torch

torch.manual_seed(0)
layers = torch.nn.Sequential(*[module for _ in range(10) for module in (torch.nn.Linear(100, 100), torch.nn.ReLU())])
data = torch.randn(8, 100)
optimizer = torch.optim.SGD(layers.parameters(), lr=0.01)
for _ in range(2):
    loss = layers(data).pow(2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
"""
PRESSES = 60
SETTLE_S = 0.03
STARTS = 3  # first-paint figures are the median of this many fresh processes


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class FrameClock:
    """Times every screen write of an app (compositor update + terminal encoding) and every layout pass."""

    def __init__(self, app: App) -> None:
        self.frames: list[float] = []
        self.layouts = 0
        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                renderable.render_segments(app.console)  # what a real terminal would be sent
                self.frames.append(time.perf_counter())

        app._display = timed_display
        refresh_layout = Screen._refresh_layout
        clock = self

        def counted_layout(screen, *args, **kwargs):
            clock.layouts += 1
            return refresh_layout(screen, *args, **kwargs)

        self._restore = refresh_layout
        Screen._refresh_layout = counted_layout

    def close(self) -> None:
        Screen._refresh_layout = self._restore


class KeyStats:
    """Latency samples and per-key counts of one run."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.frames: list[int] = []
        self.layouts: list[int] = []
        self.engine: list[float] = []

    def row(self, name: str) -> tuple[str, str, str, str]:
        median = statistics.median(self.samples) * 1e3
        p95 = percentile(self.samples, 0.95) * 1e3
        counts = f"{statistics.mean(self.frames):.2f} / {statistics.mean(self.layouts):.2f}"
        return (name, f"{median:.1f} ms", f"{p95:.1f} ms", counts)


async def keypress_latency(app: App, keys: list[str], *, live: bool = False) -> KeyStats:
    """Key event to the last screen write it caused, for each key."""
    clock = FrameClock(app)
    stats = KeyStats()
    arrived: list[float] = []
    if live:
        post = app.post_message

        def timed_post(message):
            if isinstance(message, StepCaptured):
                arrived.append(time.perf_counter())
            return post(message)

        app.post_message = timed_post
    try:
        async with app.run_test(size=SIZE) as pilot:
            while isinstance(app, GradstepApp) and (not app.history.steps or app.awaiting):
                await pilot.pause(0.01)
            await pilot.pause()
            await asyncio.sleep(0.2)
            for key in keys:
                clock.frames.clear()
                clock.layouts = 0
                arrived.clear()
                started = time.perf_counter()
                await pilot.press(key)
                while live and (app.awaiting or app.queued):
                    await asyncio.sleep(0.0005)
                await pilot.pause()
                await asyncio.sleep(SETTLE_S)
                if clock.frames:
                    stats.samples.append(clock.frames[-1] - started)
                    stats.frames.append(len(clock.frames))
                    stats.layouts.append(clock.layouts)
                if arrived:
                    stats.engine.append(arrived[-1] - started)
    finally:
        clock.close()
    return stats


class TrivialApp(App):
    """One label updated per key: what Textual itself costs, for scale."""

    BINDINGS = [("right", "tick", "")]

    def compose(self):
        yield Label("0")

    def action_tick(self) -> None:
        self.query_one(Label).update(str(time.perf_counter()))


DRIVER = """
import sys, time
started = float(sys.argv[3])
def mark(what):
    print(what, time.time() - started, flush=True)
import asyncio
sys.path.insert(0, {repo!r})
mode, target = sys.argv[1], sys.argv[2]
if mode == "live":
    from tui.commands.app import live_target
    from pathlib import Path
    live = live_target(Path(target))
from tui.ui.app import GradstepApp
mark("imported")
if mode == "replay":
    from tui.steps.lazy import open_recording  # what `gradstep replay` does: an indexed file block by block
    app = GradstepApp(recording=open_recording(target))
    mark("loaded")
else:
    app = GradstepApp(live=live)
display = app._display
def timed_display(screen, renderable):
    display(screen, renderable)
    if renderable is None or app.main_screen is None or screen is not app.main_screen:
        return
    renderable.render_segments(app.console)
    bar = app.main_screen.query_one("#phase-bar").state
    if not hasattr(app, "_window_at"):
        app._window_at = True
        mark("window")
    if bar.last >= 0 and not hasattr(app, "_step_at"):
        app._step_at = True
        mark("step")
app._display = timed_display
async def main():
    async with app.run_test(size=(160, 48)) as pilot:
        while not hasattr(app, "_step_at"):
            await asyncio.sleep(0.005)
asyncio.run(main())
"""


def first_paint(mode: str, target: Path) -> dict[str, float]:
    """Seconds from launching python to each mark: imported, loaded, window painted, first step painted."""
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", DRIVER.format(repo=str(REPO)), mode, str(target), repr(started)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    marks = {}
    for line in result.stdout.splitlines():
        name, _, seconds = line.partition(" ")
        marks[name] = float(seconds)
    if "step" not in marks:
        raise RuntimeError(result.stderr)
    return marks


def median_marks(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def python_import(module: str) -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=120)
    return time.time() - started


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    rows.append(asyncio.run(keypress_latency(TrivialApp(), ["right"] * PRESSES)).row("keypress, a one-label Textual app (for scale)"))
    # 1. keypress → screen on the seed example: walking the history, and stepping the live engine
    walk = ["right"] * (PRESSES // 2) + ["left"] * (PRESSES // 2)
    stats = asyncio.run(keypress_latency(GradstepApp(recording=load("seed_sgd")), walk))
    rows.append(stats.row("keypress, seed example, history ←/→"))
    try:
        from tui.commands.app import live_target

        script = REPO / "tests" / "scripts" / "seed_sgd.py"
        stats = asyncio.run(keypress_latency(GradstepApp(live=live_target(script)), ["s"] * PRESSES, live=True))
        rows.append(stats.row("keypress, seed example, live s (engine runs)"))
        engine = statistics.median(stats.engine) * 1e3
        rows.append(("  of which the engine: key to step posted", f"{engine:.1f} ms", f"{percentile(stats.engine, .95)*1e3:.1f} ms", ""))
    except ImportError as error:
        rows.append(("keypress, seed example, live", f"skipped: {error}", "", ""))
    # 2. a 100k-parameter model (recorded by the engine, here)
    from tests.engine.recorded import record_file
    from tui.steps.recording import load_recording

    with tempfile.TemporaryDirectory() as folder:
        wide = Path(folder) / "wide.py"
        wide.write_text(WIDE_MODEL)
        big = load_recording(record_file(wide, Path(folder) / "wide.gstep"))
    stats = asyncio.run(keypress_latency(GradstepApp(recording=big), ["right"] * PRESSES))
    nodes = max(len(step.graph.nodes) for step in big.steps if step.graph is not None)
    rows.append(stats.row(f"keypress, 100k params, {nodes}-node graph, →"))
    # 3. replay of a 10,000-step recording: loading, then first paint
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "long.gstep"
        long_seed = Path(folder) / "seed_720.py"  # the seed example with 720 iterations: 10,000 steps
        long_seed.write_text((REPO / "tests" / "scripts" / "seed_sgd.py").read_text().replace("range(100)", "range(720)"))
        record_file(long_seed, recording, stop_after=9_998)
        steps = load_recording(recording).steps
        loads = []
        for _ in range(STARTS):
            began = time.perf_counter()
            load_recording(recording)
            loads.append(time.perf_counter() - began)
        marks = median_marks([first_paint("replay", recording) for _ in range(STARTS)])
    rows.append((f"replay {len(steps):,} steps: load_recording alone", f"{statistics.median(loads):.2f} s", "", ""))
    rows.append(("replay: python up + app imported", f"{marks['imported']:.2f} s", "", ""))
    rows.append(("replay: ... + recording loaded", f"{marks['loaded']:.2f} s", "", ""))
    rows.append(("replay: first step painted", f"{marks['step']:.2f} s", "target <= 1.5 s", ""))
    # 4. a live script to first paint, beside torch's own import
    script = REPO / "tests" / "scripts" / "seed_sgd.py"
    marks = median_marks([first_paint("live", script) for _ in range(STARTS)])
    floor = statistics.median(python_import("torch") for _ in range(STARTS))
    rows.append(("gradstep SCRIPT: window painted (source shown)", f"{marks['window']:.2f} s", "torch still loading", ""))
    rows.append(("gradstep SCRIPT: first step painted", f"{marks['step']:.2f} s", "target <= 3 s", ""))
    rows.append(("python -c 'import torch' (the floor)", f"{floor:.2f} s", f"ratio {marks['step'] / floor:.2f}x", ""))

    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'median / time':>14}  {'p95 / note':>16}  {'frames / layouts per key':>24}")
    for name, first, second, third in rows:
        print(f"{name:<{width}}  {first:>14}  {second:>16}  {third:>24}")


if __name__ == "__main__":
    main()
