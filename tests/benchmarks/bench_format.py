"""A 1,000,000-step recording, written through the real writer: `show --last` and replay's load.

Run: python tests/benchmarks/bench_format.py [STEPS]   (default 1,000,000; medians of 3 runs)
Each figure is a fresh `python -m tui ...` process, timed with its peak RSS (getrusage of children).
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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = Path(tempfile.mkdtemp(prefix="gradstep-bench-format-"))
    path = folder / "big.gstep"
    writing = build(path, count)
    size = path.stat().st_size
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rows = [(f"write {count:,} steps (RecordingWriter)", f"{writing:.1f} s", f"{size / 2**20:.1f} MB file")]
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
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'median':>9}  memory")
    for name, wall, memory in rows:
        print(f"{name:<{width}}  {wall:>9}  {memory}")


if __name__ == "__main__":
    main()
