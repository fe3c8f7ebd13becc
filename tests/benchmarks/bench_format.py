"""A 1,000,000-step recording, written through the real writer: `show --last` and replay's first paint.

Run: python tests/benchmarks/bench_format.py [STEPS] [--keep PATH]   (default 1,000,000; medians of 3 runs)
Each figure is a fresh process, timed with its peak RSS (getrusage). `show` is `python -m tui show`;
replay is what `gradstep replay FILE` does (tui.steps.lazy.open_recording, then the app), run headless
at 160x48 under Textual's Pilot, with marks at the first painted step, the end of the background scan
(sparklines and curves drawn) and End then Home pressed after it. `--keep PATH` writes the recording
there, or reuses it when it already holds STEPS steps (writing 1,000,000 takes minutes).
The steps are the seed example's own steps (recorded by the engine), repeated with new indices,
so each line is what the engine writes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import SCRIPTS
from tests.engine.recorded import record_steps
from tui.steps.recording import RecordingWriter


def build(path: Path, count: int) -> float:
    session, steps = record_steps(SCRIPTS / "seed_sgd.py")
    body = [step for step in steps if step.kind not in ("end", "exception", "limit")]
    started = time.perf_counter()
    with RecordingWriter(path, session.header) as writer:
        for index in range(count):
            writer.append(body[index % len(body)].with_index(index))
    return time.perf_counter() - started


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one gradstep process."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", code, sys.executable, *args], capture_output=True, text=True, env=env)
    wall, rss, rc = out.stdout.split()
    assert rc == "0", out.stderr
    return float(wall), float(rss)


REPLAY = """
import asyncio, sys, time
started = float(sys.argv[2])
def mark(what):
    # VmHWM, not ru_maxrss: ru_maxrss keeps the high-water mark of the benchmark process this one was forked from
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    print(what, time.time() - started, rss, flush=True)
from tui.steps.lazy import open_recording
from tui.ui.app import GradstepApp
recording = open_recording(sys.argv[1])
app = GradstepApp(recording=recording)
display = app._display
def timed_display(screen, renderable):
    display(screen, renderable)
    if renderable is None or app.main_screen is None or screen is not app.main_screen:
        return
    renderable.render_segments(app.console)
    if getattr(app, "_want", None) is not None and app.history.current == app._want:
        app._shown, app._want = time.perf_counter(), None
    if app.main_screen.query_one("#phase-bar").state.last >= 0 and not hasattr(app, "_step_at"):
        app._step_at = True
        mark("step")
        print("decoded", app.history.steps.decoded + recording.steps.decoded, recording.steps.blocks, flush=True)
app._display = timed_display
def key_to_screen(key, want):
    # the time a key is sent, as a terminal sends it; the screen write that shows step `want` sets app._shown
    app._want, app._shown = want, None
    pressed = time.perf_counter()
    app.simulate_key(key)
    return pressed
async def main():
    async with app.run_test(size=(160, 48)) as pilot:
        while not hasattr(app, "_step_at"):
            await asyncio.sleep(0.01)
        for key, want in (("end", len(app.history) - 1), ("home", 0), ("right", 1)):  # while the scan runs
            pressed = key_to_screen(key, want)
            while app._shown is None:
                await asyncio.sleep(0.001)
            print("key-" + key, app._shown - pressed, 0, flush=True)
            await asyncio.sleep(0.3)
        mark("keys")
        if sys.argv[3] == "scan":
            while not app.history.scanned:
                await asyncio.sleep(0.05)
            await pilot.pause()
            mark("scanned")
            pressed = key_to_screen("end", len(app.history) - 1)
            while app._shown is None:
                await asyncio.sleep(0.001)
            print("key-end-scanned", app._shown - pressed, 0, flush=True)
asyncio.run(main())
"""


def replay_marks(path: Path, env: dict[str, str], scan: bool) -> dict[str, tuple[float, float]]:
    """Seconds from launching python, and peak RSS (MB) so far, at each mark of one headless replay."""
    started = time.time()
    args = [sys.executable, "-c", REPLAY, str(path), repr(started), "scan" if scan else "paint"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600, check=False)
    marks: dict[str, tuple[float, float]] = {}
    for line in out.stdout.splitlines():
        name, *numbers = line.split()
        marks[name] = (float(numbers[0]), float(numbers[1]))
    assert "keys" in marks, out.stderr
    return marks


def main() -> None:
    arguments = sys.argv[1:]
    keep = None
    if "--keep" in arguments:
        at = arguments.index("--keep")
        keep = Path(arguments[at + 1])
        del arguments[at : at + 2]
    count = int(arguments[0]) if arguments else 1_000_000
    path = keep or Path(tempfile.mkdtemp(prefix="gradstep-bench-format-")) / "big.gstep"
    from tui.steps.recording import read_index

    index = read_index(path) if path.exists() else None
    if index is not None and index.steps == count:
        writing = None
    else:
        writing = build(path, count)
    size = path.stat().st_size
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rows = [(f"write {count:,} steps (RecordingWriter)", f"{writing:.1f} s" if writing is not None else "reused", f"{size / 2**20:.1f} MB file")]
    replay_load = ("-c", f"from tui.steps.recording import load_recording; load_recording({str(path)!r})")
    for name, args in (
        ("show --last", ["-m", "tui", "show", str(path), "--last"]),
        ("show --last --json", ["-m", "tui", "show", str(path), "--last", "--json"]),
        ("show --step N/2", ["-m", "tui", "show", str(path), "--step", str(count // 2)]),
        ("load_recording (replay loads all steps before it mounts)", list(replay_load)),
    ):
        if "load_recording" in name and count > 200_000:
            rows.append((name, "skipped", "past 200,000 steps: about 0.3 ms a step, see the README"))
            continue
        runs = [measure(args, env) for _ in range(3 if "load_recording" not in name else 1)]
        rows.append((name, f"{statistics.median(w for w, _ in runs):.2f} s", f"{max(r for _, r in runs):.0f} MB peak RSS"))
    runs = [replay_marks(path, env, scan=False) for _ in range(3)]
    rows.append(("replay: first step painted (open_recording + app, lazy)", f"{statistics.median(run['step'][0] for run in runs):.2f} s",
                 f"{max(run['step'][1] for run in runs):.0f} MB peak RSS"))
    decoded, blocks = runs[0]["decoded"]
    rows.append(("replay: blocks decoded by the first paint", f"{decoded:.0f}", f"of {blocks:.0f} blocks"))
    for key, name in (("end", "End (the last block decoded)"), ("home", "Home"), ("right", "→")):
        rows.append((f"replay: key to screen while the scan runs: {name}", f"{statistics.median(run['key-' + key][0] for run in runs) * 1e3:.0f} ms", ""))
    rows.append(("replay: peak RSS after those keys", "", f"{max(run['keys'][1] for run in runs):.0f} MB peak RSS"))
    scanned = replay_marks(path, env, scan=True)  # one run: the scan decodes every block once
    rows.append(("replay: background scan done (curves, sparklines; 1 run)", f"{scanned['scanned'][0]:.1f} s",
                 f"{scanned['scanned'][1]:.0f} MB peak RSS"))
    rows.append(("replay: ... then End, key to screen", f"{scanned['key-end-scanned'][0] * 1e3:.0f} ms", ""))
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'median':>9}  memory")
    for name, wall, memory in rows:
        print(f"{name:<{width}}  {wall:>9}  {memory}")


if __name__ == "__main__":
    main()
