"""What the app needs from a whole lazily loaded recording, gathered by one scan after the first paint.

A replay opened lazily (tui.steps.lazy) paints its first step from two decoded blocks. The
panes that read the whole history (the lines already run, the tensor table's row count, the
sparklines and the curve per iteration) wait for this scan: a worker thread walks the blocks in
order, with a cache of its own, and posts an Outline every REPORT_BLOCKS blocks and at the end;
the app's handler hands it to the History. Plain Python (no textual, no torch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tui.steps.lazy import LazySteps
from tui.ui.series import SPARK_POINTS, Rounds, SeriesCache, spark_point

# An outline goes to the app after this many blocks (about this many thousand steps), and at the end.
REPORT_BLOCKS = 50

SparkPoint = tuple[float | None, float | None] | None


@dataclass(frozen=True)
class Outline:
    """The recording scanned up to step `scanned` (exclusive); `series` once the whole of it is."""

    scanned: int
    first_seen: dict[int, int]  # line -> the first line step at it (as History keeps it)
    max_tensors: int
    block_lines: tuple[frozenset[int], ...] = ()  # per block scanned: the lines its line steps are at
    series: SeriesCache | None = None  # every tensor's sparkline samples and curve values
    error: str | None = field(default=None)  # a block that could not be decoded: why


def scan(steps: LazySteps, report: Callable[[Outline], object], stopped: Callable[[], bool] = lambda: False) -> None:
    """Walk every block of `steps` in order, reporting an Outline now and then and once at the end."""
    total = len(steps)
    stride = max(1, total // SPARK_POINTS)  # the sampling SeriesCache uses for the sparklines
    first_seen: dict[int, int] = {}
    max_tensors = 0
    rounds = Rounds()
    names: set[str] = set()
    samples: dict[int, dict[str, SparkPoint]] = {}
    curves: dict[str, list[float | None]] = {}
    block_lines: list[frozenset[int]] = []
    points = 0
    index = 0
    for block in range(steps.blocks):
        if stopped():
            return
        try:
            decoded = steps.block(block)
        except Exception as error:  # noqa: BLE001 - a damaged block: what was scanned stays, the app says why
            report(Outline(index, dict(first_seen), max_tensors, tuple(block_lines), None, str(error)))
            return
        lines: set[int] = set()
        for step in decoded:
            tensors = step.tensors
            max_tensors = max(max_tensors, len(tensors))
            names.update(tensors)
            if step.line is not None and step.kind == "line":
                first_seen.setdefault(step.line, index)
                lines.add(step.line)
            if index % stride == 0:
                samples[index] = {name: spark_point(view) for name, view in tensors.items()}
            if rounds.add(step):
                for name, view in tensors.items():
                    values = curves.setdefault(name, [])
                    values.extend([None] * (points - len(values)))
                    point = spark_point(view)
                    values.append(point[0] if point is not None else None)
                points += 1
            index += 1
        block_lines.append(frozenset(lines))
        if (block + 1) % REPORT_BLOCKS == 0 and block + 1 < steps.blocks:
            report(Outline(index, dict(first_seen), max_tensors, tuple(block_lines)))
    scalars: dict[tuple[int, str], SparkPoint] = {}
    for position, found in samples.items():
        for name in names:
            scalars[(position, name)] = found.get(name)
    for name in names:
        values = curves.setdefault(name, [])
        values.extend([None] * (points - len(values)))
    report(Outline(index, first_seen, max_tensors, tuple(block_lines), SeriesCache.prefilled(rounds, scalars, curves)))
