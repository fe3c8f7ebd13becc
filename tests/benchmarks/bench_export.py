"""Export speed: a 200-layer MLP's graph drawn from a recorded step and live (torchviz), and Graphviz's layout.

Run: .venv/bin/python tests/benchmarks/bench_export.py [--layers 200] [--repeats 7]
The promise (issue 5): drawing, i.e. building the Digraph and producing its source, under 2 s;
Graphviz's own layout (`dot -Tsvg`) is reported separately, as it is not gradstep's work.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).parents[2]))

from tests.engine.graph_capture import capture_step, mlp_tensors  # noqa: E402
from tui.engine.live_export import draw_live  # noqa: E402
from tui.render.graph_files import draw_graph  # noqa: E402


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    named = mlp_tensors(args.layers)
    step = capture_step(named)
    loss = named["loss"]
    print(f"{args.layers}-layer MLP: {len(step.graph.nodes)} autograd nodes, {len(step.tensors)} named tensors")
    rows: list[tuple[str, float]] = []
    for attrs_saved in (False, True):
        suffix = " +attrs +saved" if attrs_saved else ""
        rows.append((
            f"recorded step -> Digraph source{suffix}",
            median_seconds(
                lambda show=attrs_saved: draw_graph(step, "loss", show_attrs=show, show_saved=show).dot.source,
                args.repeats,
            ),
        ))
        rows.append((
            f"live make_dot + values -> source{suffix}",
            median_seconds(lambda show=attrs_saved: draw_live(loss, named, show_attrs=show, show_saved=show).source,
                           args.repeats),
        ))
    dot = draw_graph(step, "loss").dot
    if shutil.which("dot"):
        rows.append(("Graphviz layout, dot -Tsvg (not gradstep's)", median_seconds(lambda: dot.pipe(format="svg"), 3)))
    else:
        print("Graphviz's dot is not installed: layout not measured")
    base = rows[0][1]
    print(f"{'what':52} {'median s':>9} {'x recorded':>11}")
    for name, seconds in rows:
        print(f"{name:52} {seconds:9.3f} {seconds / base:11.2f}")
    worst = max(seconds for name, seconds in rows if "Graphviz" not in name)
    print(f"drawing under 2 s: {'yes' if worst < 2.0 else 'NO'} (slowest {worst:.3f} s)")


if __name__ == "__main__":
    main()
