"""Re-record the checked-in test recordings with the engine: `python -m tests.tools.regenerate_recordings`.

The ONE way to refresh tests/fixtures/recordings/*.gstep (listed in tests/fixtures/recordings.py):
after a change to the engine, the .gstep format or a recorded script, run it, look at what changed
(`git diff --stat`, and the snapshot tests that replay them), and commit the files.

  python -m tests.tools.regenerate_recordings            rewrite every recording whose content changed
  python -m tests.tools.regenerate_recordings --all      rewrite them all (e.g. after a format change)
  python -m tests.tools.regenerate_recordings --check    write nothing; exit 1 when one is stale
  ... NAME [NAME ...]                                    only these

"Content" is the decoded header and steps. Fields that legitimately vary from one machine or run
to the next are not compared (IGNORED_HEADER_FIELDS): when the recording was made, the gradstep,
torch and Python versions, and the device's name. The script's path is stored relative to the
repository, so it does not vary. Steps carry no timestamps and are compared field for field, and
their floats to within 1% (`close`): torch's matrix products (MKL's) take another kernel on an AVX-512
CPU than on an AVX2 one and round the last bit otherwise, and training grows that. Lesson 05's
recording, made on another machine, differs from an AVX-512 machine's by one unit in float32's last
place at its first backward and by up to 0.19% after 300 steps; holding MKL and ATen to AVX2
(`MKL_CBWR`, `MKL_ENABLE_INSTRUCTIONS`, `ATEN_CPU_CAPABILITY`) narrows it to a few units, never to
nothing. What a fixture stands for is its steps' kinds, lines, names, shapes,
versions and texts, compared exactly; that the numbers are torch's own is what the engine tests check
against eager PyTorch, on one machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.fixtures.recordings import FIXTURES, REGENERATE, REPO, Fixture, fixture
from tui.steps.model import Header, Step
from tui.steps.recording import Recording, load_recording, write_recording

IGNORED_HEADER_FIELDS = ("created", "gradstep", "torch", "python", "device_name")
# How far a float may move from one machine to another (see the module's docstring), relative, or
# absolute near zero (a grad near zero is the difference of nearly equal numbers).
REL_TOLERANCE = 1e-2
ABS_TOLERANCE = 1e-5


def close(a: object, b: object) -> bool:
    """Equal, but for floats within the machine-to-machine tolerance (dataclasses, tuples, lists and
    mappings compared item by item; every other value exactly)."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(close(a[key], b[key]) for key in a)
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(close(getattr(a, field.name), getattr(b, field.name)) for field in dataclasses.fields(a))
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list))
        return len(a) == len(b) and all(map(close, a, b))
    return a == b


def record(entry: Fixture) -> Recording:
    """A fresh recording of the fixture's script by the engine, as `gradstep record` makes it, written
    and read back through the .gstep format (so it compares like with like)."""
    from tui.engine.session import Session  # deferred: the engine imports torch

    steps: list[Step] = []
    limit = {} if entry.stop_after is None else {"max_steps": entry.stop_after + 1}
    session = Session(REPO / entry.script, on_step=steps.append, mode="record", **limit)
    session.run()
    header = dataclasses.replace(session.header, script=entry.script)
    with tempfile.TemporaryDirectory(prefix="gradstep-fixture-") as folder:
        path = Path(folder) / f"{entry.name}.gstep"
        write_recording(path, header, steps)
        return load_recording(path)


def _header_fields(header: Header) -> dict[str, object]:
    return {key: value for key, value in dataclasses.asdict(header).items() if key not in IGNORED_HEADER_FIELDS}


def differences(stored: Recording, fresh: Recording, limit: int = 5) -> list[str]:
    """What differs between two recordings, one line each (at most `limit` steps named); [] when they match."""
    found: list[str] = []
    old, new = _header_fields(stored.header), _header_fields(fresh.header)
    for key in old:
        if old[key] != new[key]:
            found.append(f"header {key}: {_short(old[key])} != {_short(new[key])}")
    if len(stored.steps) != len(fresh.steps):
        found.append(f"{len(stored.steps)} steps stored, {len(fresh.steps)} recorded now")
    named = 0
    for before, after in zip(stored.steps, fresh.steps):
        if before == after or close(before, after):
            continue
        fields = [field.name for field in dataclasses.fields(Step) if not close(getattr(before, field.name), getattr(after, field.name))]
        found.append(f"step {before.index} ({before.kind}, line {before.line}): {', '.join(fields)} differ")
        named += 1
        if named == limit:
            found.append("...")
            break
    return found


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these recordings (default: all)")
    parser.add_argument("--all", action="store_true", help="rewrite every file, changed or not")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a recording is stale")
    args = parser.parse_args(argv)
    try:
        entries = [fixture(name) for name in args.names] if args.names else list(FIXTURES)
    except KeyError as error:
        print(f"gradstep: {error.args[0]}", file=sys.stderr)
        return 2
    stale = 0
    for entry in entries:
        fresh = record(entry)
        stored = load_recording(entry.path) if entry.path.is_file() else None
        changes = ["missing"] if stored is None else differences(stored, fresh)
        if changes:
            stale += 1
        size = f"{len(fresh.steps)} steps"
        if args.check:
            print(f"{entry.name}: {'stale: ' + '; '.join(changes) if changes else 'up to date'} ({size})")
            continue
        if changes or args.all:
            entry.path.parent.mkdir(parents=True, exist_ok=True)
            write_recording(entry.path, fresh.header, fresh.steps)
            print(f"{entry.name}: wrote {entry.path.relative_to(REPO)} ({size}, {entry.path.stat().st_size:,} bytes)")
            for change in changes:
                print(f"    {change}")
        else:
            print(f"{entry.name}: up to date ({size})")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
