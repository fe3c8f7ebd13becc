"""UI speed: keypress to screen updated (Pilot), replay of 10,000 steps and a live run to first paint.

Run: `.venv/bin/python tests/benchmarks/bench_ui.py` (not collected by pytest). Prints one table;
every figure is measured in this run, side by side.
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

from tests.ui.fakes import FakeRecording, big_steps, header, seed_steps  # noqa: E402
from textual.app import App  # noqa: E402
from textual.widgets import Label  # noqa: E402

from tui.ui.app import GradstepApp  # noqa: E402

SIZE = (160, 48)
PRESSES = 60


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def keypress_latency(app, keys: list[str], *, live: bool = False) -> list[float]:
    """Seconds from each key event until the last screen update it caused was written.

    Pilot's own waits for idle add ~80 ms per press whatever the app does, so the end
    is taken from the app's display calls, not from when Pilot returns.
    """
    painted: list[float] = []
    display = app._display

    def timed_display(screen, renderable):
        display(screen, renderable)
        painted.append(time.perf_counter())

    app._display = timed_display
    samples = []
    async with app.run_test(size=SIZE) as pilot:
        while isinstance(app, GradstepApp) and (not app.history.steps or app.awaiting):
            await pilot.pause(0.01)
        await pilot.pause()
        for key in keys:
            painted.clear()
            started = time.perf_counter()
            await pilot.press(key)
            while live and (app.awaiting or app.queued):
                await asyncio.sleep(0.0005)
            await pilot.pause()
            if painted:
                samples.append(painted[-1] - started)
    return samples


class TrivialApp(App):
    """One label updated per key: what Textual itself costs, for scale."""

    BINDINGS = [("right", "tick", "")]

    def compose(self):
        yield Label("0")

    def action_tick(self) -> None:
        self.query_one(Label).update(str(time.perf_counter()))


DRIVER = """
import sys, time, asyncio
sys.path.insert(0, {repo!r})
from tui.ui.app import GradstepApp
mode, target = sys.argv[1], sys.argv[2]
if mode == "replay":
    from tui.engine.recording import load_recording
    app = GradstepApp(recording=load_recording(target))
else:
    from tui.commands.app import live_target
    from pathlib import Path
    app = GradstepApp(live=live_target(Path(target)))
async def main():
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        print("window", time.time(), flush=True)
        while not app.history.steps:
            await pilot.pause(0.005)
        await pilot.pause()
        print("step", time.time(), flush=True)
asyncio.run(main())
"""


def first_paint(mode: str, target: Path) -> tuple[float, float]:
    """Seconds from launching python to the window painted, and to the first step on screen."""
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", DRIVER.format(repo=str(REPO)), mode, str(target)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    marks = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("window", "step")))
    if "step" not in marks:
        raise RuntimeError(result.stderr)
    return float(marks["window"]) - started, float(marks["step"]) - started


def torch_import() -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=120)
    return time.time() - started


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    samples = asyncio.run(keypress_latency(TrivialApp(), ["right"] * PRESSES))
    rows.append(("keypress, a one-label Textual app (for scale)", f"{statistics.median(samples)*1e3:.1f} ms", f"{percentile(samples, .95)*1e3:.1f} ms"))
    # 1. keypress → screen on the seed example: walking the history, and stepping the live engine
    seed = seed_steps(3)
    walk = ["right"] * (PRESSES // 2) + ["left"] * (PRESSES // 2)
    samples = asyncio.run(keypress_latency(GradstepApp(recording=FakeRecording(seed)), walk))
    rows.append(("keypress, seed example, history ←/→", f"{statistics.median(samples)*1e3:.1f} ms", f"{percentile(samples, .95)*1e3:.1f} ms"))
    try:
        from tui.commands.app import live_target

        script = REPO / "tests" / "scripts" / "seed_sgd.py"
        samples = asyncio.run(keypress_latency(GradstepApp(live=live_target(script)), ["s"] * PRESSES, live=True))
        rows.append(("keypress, seed example, live s (engine runs)", f"{statistics.median(samples)*1e3:.1f} ms", f"{percentile(samples, .95)*1e3:.1f} ms"))
    except ImportError as error:
        rows.append(("keypress, seed example, live", f"skipped: {error}", ""))
    # 2. a 100k-parameter model with a 200-node graph (synthetic steps)
    big = big_steps(PRESSES + 1)
    samples = asyncio.run(keypress_latency(GradstepApp(recording=FakeRecording(big)), ["right"] * PRESSES))
    rows.append(("keypress, 100k params, 200-node graph", f"{statistics.median(samples)*1e3:.1f} ms", f"{percentile(samples, .95)*1e3:.1f} ms"))
    # 3. replay of a 10,000-step recording to first paint
    from tui.engine.recording import write_recording

    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "long.gstep"
        steps = seed_steps(720)[:10_000]
        write_recording(recording, header(), [step.with_index(position) for position, step in enumerate(steps)])
        window, first_step = first_paint("replay", recording)
        rows.append((f"replay of {len(steps):,} steps to first paint", f"{first_step:.2f} s", "target <= 1.5 s"))
    # 4. a live script to first paint, beside torch's own import
    script = REPO / "tests" / "scripts" / "seed_sgd.py"
    window, first_step = first_paint("live", script)
    floor = torch_import()
    rows.append(("gradstep SCRIPT: window painted (source shown)", f"{window:.2f} s", "before torch loads"))
    rows.append(("gradstep SCRIPT: first step on screen", f"{first_step:.2f} s", "target <= 3 s"))
    rows.append(("python -c 'import torch' (the floor)", f"{floor:.2f} s", f"ratio {first_step / floor:.2f}x"))

    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'median / time':>16}  {'p95 / note':>18}")
    for name, first, second in rows:
        print(f"{name:<{width}}  {first:>16}  {second:>18}")


if __name__ == "__main__":
    main()
