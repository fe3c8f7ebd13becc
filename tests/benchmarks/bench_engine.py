"""Engine speed, measured side by side in one run (not collected by pytest).

The main table: `python SCRIPT` against `gradstep record SCRIPT` for the seed example, a
two-layer net of PyTorch's tutorial shape (64 x 1000 -> 100 -> 10, 500 iterations), a 784 ->
256 -> 10 Adam MLP, a small CNN, a 4-layer TransformerEncoder (d_model 128) and a 10M-parameter
MLP (tests/benchmarks/scripts): wall time, ratio, steps, the engine's ms per step ((record -
plain) / steps), file size and peak RSS, medians of alternating runs, with one torch thread on
both sides (OMP_NUM_THREADS=1) and with torch's default threads beside it. Then live `s` on
the 10M MLP through the child process: median and p95 of a step_into's round trip.
Targets (issue 11): seed <= 1.15x, Adam MLP <= 1.2x, two-layer <= 2x, Transformer <= 2x,
10M MLP <= 1.5x; live `s` p95 <= 100 ms.

`--elements` measures the engine's ms per step against the number of elements instead
(tests/benchmarks/scripts/elements.py, both sides with one torch thread, the script's own clock
around its loop): a leaf of N elements changed by SGD at every iteration, against the same loop
on a 10-element leaf beside a named tensor of N elements that never changes. The first grows with
N (each change is summarised); the second stays flat (an unchanged tensor is not read again).
Then a loop with no tensor at all: what a step costs as such.

`--classic` also runs the earlier measures:
1. `gradstep record --breaks-only` of the 3 -> 2 -> 5 network trained 6,000 iterations
   (tests/scripts/mlp_3_2_5.py with 6,000 iterations, a breakpoint after the loop)
   against `python script.py`; target <= 1.05x.
2. `gradstep record` of every step of tests/scripts/seed_sgd.py against
   `python seed_sgd.py` (both pay torch's import and its first optimizer's import of
   torch._dynamo), plus the same recording in-process with torch already loaded, and
   the file size; target: recording under 2 s, file under 1 MB.

Runs alternate between the variants so that load on the machine hits them alike.
Usage: .venv/bin/python tests/benchmarks/bench_engine.py [--repeat N] [--only NAME ...] [--classic] [--elements]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "scripts"
BENCH_SCRIPTS = Path(__file__).resolve().parent / "scripts"
TABLE_SCRIPTS = {
    "seed example": SCRIPTS / "seed_sgd.py",
    "two-layer net x500": BENCH_SCRIPTS / "two_layer_net.py",
    "784-256-10 Adam MLP": BENCH_SCRIPTS / "adam_mlp.py",
    "small CNN": BENCH_SCRIPTS / "small_cnn.py",
    "4-layer Transformer": BENCH_SCRIPTS / "transformer.py",
    "10M-param MLP": BENCH_SCRIPTS / "mlp_10m.py",
}


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stdout of one run of the command in a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read() if process.stdout is not None else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command} exited {process.returncode}")
    return wall, usage.ru_maxrss, out


def recorded_steps(out: str) -> int:
    """The step count `gradstep record` prints ("wrote FILE: N steps ...")."""
    found = re.search(r": (\d+) steps", out)
    return int(found.group(1)) if found else 0


def record_table(repeat: int, only: list[str], threads: str | None, work: Path) -> list[dict]:
    """One row per script: plain and record, alternating, `repeat` times each."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    rows = []
    for label, script in TABLE_SCRIPTS.items():
        if only and not any(name in label or name in script.name for name in only):
            continue
        output = work / f"{script.stem}.gstep"
        variants = {
            "plain": [sys.executable, str(script)],
            "record": [sys.executable, "-m", "tui", "record", str(script), "-o", str(output)],
        }
        runs: dict[str, list[tuple[float, int, str]]] = {"plain": [], "record": []}
        for round_index in range(repeat):
            for name in variants if round_index % 2 == 0 else reversed(list(variants)):
                runs[name].append(run_once(variants[name], env))
        steps = recorded_steps(runs["record"][-1][2])
        plain = statistics.median(wall for wall, _, _ in runs["plain"])
        record = statistics.median(wall for wall, _, _ in runs["record"])
        rows.append({
            "script": label, "plain_s": plain, "record_s": record, "ratio": record / plain, "steps": steps,
            "ms_per_step": (record - plain) / steps * 1000 if steps else float("nan"),
            "size_kib": output.stat().st_size / 1024,
            "plain_rss_mib": statistics.median(rss for _, rss, _ in runs["plain"]) / 1024,
            "record_rss_mib": statistics.median(rss for _, rss, _ in runs["record"]) / 1024,
        })
    return rows


ELEMENTS = ((1, 200), (256, 200), (1_000, 200), (100_000, 200), (1_000_000, 50), (10_000_000, 10))  # (N, iterations)


def loop_seconds(command: list[str], env: dict[str, str], times_file: Path) -> tuple[float, str]:
    """The loop's seconds as elements.py measured them, and the command's stdout."""
    times_file.unlink(missing_ok=True)
    _, _, out = run_once(command, env)
    return float(times_file.read_text()), out


def elements_table(repeat: int, work: Path) -> list[dict]:
    """Per N and variant: the loop's medians under python and record, and the engine's ms per loop step."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    script = BENCH_SCRIPTS / "elements.py"
    times_file = work / "loop.txt"
    output = work / "elements.gstep"
    record = [sys.executable, "-m", "tui", "record", str(script), "-o", str(output), "--"]
    plain = [sys.executable, str(script)]
    rows = []
    for variant in ("changed", "unchanged", "none"):
        # The steps outside the loop: a run with no iterations.
        _, out = loop_seconds([*record, "1", "0", variant, str(times_file)], env, times_file)
        outside = recorded_steps(out)
        for n, iterations in ELEMENTS if variant != "none" else ((1, 3000),):
            arguments = [str(n), str(iterations), variant, str(times_file)]
            runs: dict[str, list[float]] = {"plain": [], "record": []}
            steps = 0
            for round_index in range(repeat):
                for name in ("plain", "record") if round_index % 2 == 0 else ("record", "plain"):
                    seconds, out = loop_seconds([*(plain if name == "plain" else record), *arguments], env, times_file)
                    runs[name].append(seconds)
                    if name == "record":
                        steps = recorded_steps(out) - outside
            python_s, record_s = statistics.median(runs["plain"]), statistics.median(runs["record"])
            rows.append({
                "variant": variant, "elements": n, "iterations": iterations, "steps": steps,
                "plain_s": python_s, "record_s": record_s,
                "ms_per_step": (record_s - python_s) / steps * 1000 if steps else float("nan"),
            })
    return rows


def print_elements(rows: list[dict]) -> None:
    print("\nengine ms per step against the number of elements (OMP_NUM_THREADS=1; the loop's own clock)")
    by = {(row["variant"], row["elements"]): row for row in rows}
    print("| elements | iterations | steps in the loop | changed: python / record | changed: engine ms/step "
          "| unchanged: python / record | unchanged: engine ms/step |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n, iterations in ELEMENTS:
        changed, unchanged = by.get(("changed", n)), by.get(("unchanged", n))
        if changed is None or unchanged is None:
            continue
        print(
            f"| {n:,} | {iterations} | {changed['steps']:,} | {changed['plain_s']:.3f} / {changed['record_s']:.3f} s | "
            f"{changed['ms_per_step']:.3f} | {unchanged['plain_s']:.3f} / {unchanged['record_s']:.3f} s | "
            f"{unchanged['ms_per_step']:.3f} |"
        )
    none = by.get(("none", 1))
    if none is not None:
        print(f"\nno tensor at all (two lines on a float, {none['iterations']:,} iterations): "
              f"{none['ms_per_step']:.3f} ms per step over {none['steps']:,} steps "
              f"(python {none['plain_s']:.3f} s, record {none['record_s']:.3f} s)")


def print_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    print("| script | python | record | ratio | steps | engine ms/step | file | peak RSS python / record |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['script']} | {row['plain_s']:.2f} s | {row['record_s']:.2f} s | {row['ratio']:.2f}x | "
            f"{row['steps']:,} | {row['ms_per_step']:.2f} | {row['size_kib']:,.0f} KiB | "
            f"{row['plain_rss_mib']:.0f} / {row['record_rss_mib']:.0f} MiB |"
        )


def step_into_trips(script: Path) -> list[float]:
    """Seconds of each live `s` (step_into) round trip through the child, over the whole script."""
    from tui.engine.client import ChildSession

    got: list = []
    session = ChildSession(script, on_step=got.append)
    deadline = time.monotonic() + 120
    while not got and time.monotonic() < deadline:
        time.sleep(0.005)
    trips = []
    while True:
        count = len(got)
        started = time.perf_counter()
        session.step_into()
        while len(got) == count and session.result is None:
            time.sleep(0.0002)
        if session.result is not None:
            break
        trips.append(time.perf_counter() - started)
    session.stop()
    return trips


def live_step_latency(script: Path, threads: str | None) -> tuple[float, float, int]:
    """Median and p95 (ms) of a live `s` (step_into) round trip through the child, over the whole script."""

    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = threads  # the child inherits it
    trips = sorted(trip * 1000 for trip in step_into_trips(script))
    return statistics.median(trips), trips[min(len(trips) - 1, int(len(trips) * 0.95))], len(trips)


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def side_by_side(variants: dict[str, list[str]], cwd: Path, repeat: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for round_index in range(repeat):
        order = list(variants) if round_index % 2 == 0 else list(reversed(variants))
        for name in order:
            times[name].append(timed(variants[name], cwd))
    return times


def in_process_breaks_only(script: Path, breakpoint: int, repeat: int) -> tuple[list[float], list[float]]:
    """CPU seconds of the script run plainly and in breaks-only mode, alternating, in this process."""
    import torch._dynamo  # noqa: F401 - both variants find torch fully imported

    from tui.engine.session import Session

    code = compile(script.read_text(), str(script), "exec")
    plain: list[float] = []
    engine: list[float] = []
    for round_index in range(repeat):
        for variant in ("plain", "engine") if round_index % 2 == 0 else ("engine", "plain"):
            start = time.process_time()
            if variant == "plain":
                with contextlib.redirect_stdout(io.StringIO()):  # the engine captures it too
                    exec(code, {"__name__": "__main__", "__file__": str(script)})
                plain.append(time.process_time() - start)
            else:
                Session(script, on_step=lambda step: None, mode="breaks-only", breakpoints=[breakpoint]).run()
                engine.append(time.process_time() - start)
    return plain, engine


def in_process_record(script: Path, output: Path) -> float:
    """Record every step with torch (and torch._dynamo) already imported: the engine's own cost."""
    import torch._dynamo  # noqa: F401 - imported up front so only the recording is timed

    from tui.engine.session import Session
    from tui.steps.recording import RecordingWriter

    start = time.perf_counter()
    session: Session
    with RecordingWriter(output, _header(script)) as writer:
        session = Session(script, on_step=writer.append, mode="record")
        session.run()
    return time.perf_counter() - start


def pipe_cost(script, repeat: int):
    """Per-step cost of the child's stream: encode, write to a pipe, read, decode (engine's steps, torch loaded).

    Returns (microseconds per step, steps, bytes per step) and the round trip of one step command
    through a live ChildSession (microseconds, median over the script's steps).
    """
    import json
    import os
    import threading

    from tui.engine.session import Session
    from tui.steps.lines import StepDecoder, StepEncoder, dumps

    steps: list = []
    Session(script, on_step=steps.append, mode="record").run()
    per_step = []
    size = 0
    for _ in range(repeat):
        read_fd, write_fd = os.pipe()
        decoded: list = []

        def reader() -> None:
            decoder = StepDecoder()
            with open(read_fd, "rb", buffering=1 << 16) as file:
                for line in file:
                    step = decoder.decode(json.loads(line))
                    if step is not None:
                        decoded.append(step)

        thread = threading.Thread(target=reader)
        started = time.perf_counter()
        thread.start()
        encoder = StepEncoder()
        with open(write_fd, "wb", buffering=1 << 16) as out:
            for step in steps:
                data = b"".join(dumps(record).encode() + b"\n" for record in encoder.encode(step))
                size += len(data)
                out.write(data)
                out.flush()
        thread.join()
        per_step.append((time.perf_counter() - started) / len(steps) * 1e6)
        assert len(decoded) == len(steps)
    # A command's round trip through the child: step_into, and the step back.
    trips = [trip * 1e6 for trip in step_into_trips(script)]
    return statistics.median(per_step), len(steps), size / repeat / len(steps), statistics.median(trips), len(trips)


def _header(script: Path):  # noqa: ANN202 - a Header, built the way the session builds it
    from tui.engine.session import Session

    return Session(script, on_step=lambda step: None, mode="record").header


def classic(args: argparse.Namespace) -> None:
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="gradstep-bench-") as folder:
        work = Path(folder)
        mlp = work / "mlp_6000.py"
        source = (SCRIPTS / "mlp_3_2_5.py").read_text().replace("range(20)", "range(6000)")
        mlp.write_text(source)
        after_loop = next(number for number, line in enumerate(source.splitlines(), 1) if line.startswith("print("))
        seed = work / "seed_sgd.py"
        seed.write_text((SCRIPTS / "seed_sgd.py").read_text())
        gradstep = [python, "-m", "tui", "record"]

        mlp_times = side_by_side(
            {
                "python mlp_6000.py": [python, str(mlp)],
                "record --breaks-only": [*gradstep, str(mlp), "--breaks-only", "--break", str(after_loop),
                                         "-o", str(work / "mlp.gstep")],
            },
            REPO,
            args.repeat,
        )
        seed_times = side_by_side(
            {
                "python seed_sgd.py": [python, str(seed)],
                "record (every step)": [*gradstep, str(seed), "-o", str(work / "seed.gstep")],
            },
            REPO,
            args.repeat,
        )
        warm = [in_process_record(seed, work / "warm.gstep") for _ in range(args.repeat)]
        plain, engine = in_process_breaks_only(mlp, after_loop, args.repeat)
        size = (work / "seed.gstep").stat().st_size

    print(f"medians of {args.repeat} alternating runs (wall clock; CPU = user + system, steadier on a busy machine)")
    print(f"{'measure':<44} {'wall s':>8} {'ratio':>7} {'CPU s':>8} {'ratio':>7}")
    for label, times in (("3->2->5 x 6000", mlp_times), ("seed_sgd.py", seed_times)):
        names = list(times)
        base_wall = statistics.median(wall for wall, _ in times[names[0]])
        base_cpu = statistics.median(cpu for _, cpu in times[names[0]])
        for name in names:
            wall = statistics.median(wall for wall, _ in times[name])
            cpu = statistics.median(cpu for _, cpu in times[name])
            print(
                f"{label + ': ' + name:<44} {wall:>8.3f} {wall / base_wall:>6.3f}x {cpu:>8.3f} {cpu / base_cpu:>6.3f}x"
            )
    print(f"{'seed_sgd.py: record in-process, torch loaded':<44} {statistics.median(warm):>8.3f}")
    for name, times in (("plain exec", plain), ("breaks-only", engine)):
        label = f"3->2->5 x 6000 in-process CPU: {name}"
        print(f"{label:<44} median {statistics.median(times):.3f}  min {min(times):.3f}")
    print(
        f"{'3->2->5 x 6000 in-process: breaks-only ratio':<44} "
        f"median {statistics.median(engine) / statistics.median(plain):.3f}x  min {min(engine) / min(plain):.3f}x"
    )
    print(f"{'seed_sgd.py: recording size':<44} {size / 1024:>7.1f} KiB")
    stream_us, count, line_bytes, trip_us, trips = pipe_cost(SCRIPTS / "seed_sgd.py", args.repeat)
    print(f"{'seed_sgd.py: child pipe, per step':<44} {stream_us:>8.1f} us  ({count} steps, {line_bytes:.0f} B a step: "
          "encode + pipe + decode)")
    print(f"{'seed_sgd.py: step_into round trip (child)':<44} {trip_us:>8.1f} us  (median of {trips})")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=[], help="scripts whose label or file name contains one of these")
    parser.add_argument("--no-default-threads", action="store_true", help="only the OMP_NUM_THREADS=1 table")
    parser.add_argument("--no-live", action="store_true", help="skip the live `s` measure")
    parser.add_argument("--classic", action="store_true", help="also the breaks-only and pipe measures")
    parser.add_argument("--elements", action="store_true", help="only ms per step against the number of elements")
    args = parser.parse_args()
    # gradstep as pip installs it: its modules compiled once (with PYTHONDONTWRITEBYTECODE set, as on
    # some machines, every `record` run would compile ~40 modules anew, ~0.2 s that no user pays).
    import compileall

    compileall.compile_dir(REPO / "tui", quiet=1)
    if args.elements:
        print(f"medians of {args.repeat} alternating runs of each side, each a fresh process")
        with tempfile.TemporaryDirectory(prefix="gradstep-bench-") as folder:
            print_elements(elements_table(args.repeat, Path(folder)))
        return
    print(f"medians of {args.repeat} alternating runs; wall clock, each side a fresh process (torch's import included)")
    with tempfile.TemporaryDirectory(prefix="gradstep-bench-") as folder:
        work = Path(folder)
        print_table(record_table(args.repeat, args.only, "1", work), "OMP_NUM_THREADS=1 on both sides")
        if not args.no_default_threads:
            print_table(record_table(args.repeat, args.only, None, work), "torch's default threads on both sides")
    if not args.no_live:
        median, p95, count = live_step_latency(TABLE_SCRIPTS["10M-param MLP"], "1")
        print(f"\nlive `s` on the 10M-param MLP (OMP_NUM_THREADS=1): median {median:.1f} ms, p95 {p95:.1f} ms "
              f"over {count} steps")
    if args.classic:
        classic(args)


if __name__ == "__main__":
    main()
