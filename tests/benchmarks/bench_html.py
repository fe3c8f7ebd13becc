"""The HTML page of a long recording: its size, building it, opening it and stepping it in headless Chromium.

Run: .venv/bin/python tests/benchmarks/bench_html.py [--iterations 800] [--steps 10000] [--repeats 3]
Records the seed example with more iterations (a 10,000-step recording by default), builds
its page in-process (Graphviz's dot included, for the first backward steps' pictures), then
opens it in Chromium: to the first step painted, and the median and p95 time of one step
(`window.gradstep.go`, which builds that step's DOM), over random jumps and over → presses.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from tests.conftest import SCRIPTS  # noqa: E402
from tests.e2e.browser import browser_page, skip_reason  # noqa: E402
from tests.engine.recorded import record_file  # noqa: E402
from tui.render.html import build_page  # noqa: E402
from tui.steps.recording import load_recording  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=800)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recording", type=Path, help="use this recording instead of recording one")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gradstep-bench-html-"))
    recording = options.recording
    if recording is None:
        script = folder / "seed_long.py"
        script.write_text((SCRIPTS / "seed_sgd.py").read_text().replace("range(100)", f"range({options.iterations})"))
        recording = record_file(script, folder / "long.gstep", stop_after=options.steps - 1)
    loaded = load_recording(recording)
    builds = []
    for _ in range(options.repeats):
        started = time.perf_counter()
        page = build_page(loaded.header, loaded.steps)
        builds.append(time.perf_counter() - started)
    path = folder / "long.html"
    path.write_text(page.text)
    rows = [
        ("steps in the recording", f"{len(loaded.steps):,}"),
        ("recording size", f"{recording.stat().st_size / 1024:.1f} KiB"),
        ("page size", f"{path.stat().st_size / 1024:.1f} KiB ({page.graphs} graph pictures)"),
        ("build the page (median)", f"{statistics.median(builds):.2f} s"),
    ]
    reason = skip_reason()
    if reason is None:
        opens, jumps, presses = [], [], []
        for _ in range(options.repeats):
            with browser_page() as tab:
                started = time.perf_counter()
                tab.page.goto(path.as_uri())
                tab.page.wait_for_selector('body[data-ready="1"]', timeout=60_000)
                opens.append(time.perf_counter() - started)
                targets = [random.randrange(len(loaded.steps)) for _ in range(300)]
                jumps.extend(tab.page.evaluate(
                    "(targets) => targets.map((t) => { const s = performance.now(); window.gradstep.go(t); return performance.now() - s; })",
                    targets,
                ))
                tab.page.evaluate("window.gradstep.go(0)")
                for _ in range(100):
                    started = time.perf_counter()
                    tab.page.keyboard.press("ArrowRight")
                    tab.page.evaluate("document.body.dataset.step")
                    presses.append((time.perf_counter() - started) * 1000)
                assert not tab.errors, tab.errors
        quantile = lambda data: statistics.quantiles(data, n=20)[-1]  # noqa: E731
        rows += [
            ("open to the first step painted (median)", f"{statistics.median(opens):.2f} s"),
            ("one step, random jumps (go(), median / p95)", f"{statistics.median(jumps):.2f} ms / {quantile(jumps):.2f} ms"),
            ("→ pressed to step shown, via Playwright (median / p95)", f"{statistics.median(presses):.1f} ms / {quantile(presses):.1f} ms"),
        ]
    else:
        rows.append(("browser", f"skipped: {reason}"))
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
