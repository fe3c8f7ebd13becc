"""Fuzz: mutated real recordings through every read command end in exit 0, 1 or 2, never 70 or a traceback.

Short profile by default (CI, 25 examples); the long one, about 4 minutes on the shared 2-core machine:
GRADSTEP_FUZZ_EXAMPLES=500 pytest tests/engine/test_fuzz_recordings.py (README, "Recordings", has its
figures). Each command must answer within 5 s and 500 MB (traced, tracemalloc). At the end the test
prints its figures: examples run, the time, and per command the worst time, peak memory and exit codes.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import os
import resource
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SCRIPTS
from tests.engine.recorded import record_file
from tui import cli
from tui.steps.recording import load_recording

EXAMPLES = int(os.environ.get("GRADSTEP_FUZZ_EXAMPLES", "25"))
COMMANDS = (
    ["show"],
    ["show", "--json"],
    ["show", "--timeline"],
    ["show", "--timeline", "--json"],
    ["show", "--last"],
    ["show", "--step", "5"],
    ["diff"],
    ["export", "-o", "graph.dot"],
    ["export", "-o", "page.html"],
)
# Pieces a crafted file might splice in: bounds, wrong types, odd text.
SPLICES = [b"1e999", b"9" * 5000, b"[" * 700, b"NaN", b"-Infinity", b'"\\ud800"', b"true", b"null", b"[]", b"{}",
           b'"x"', b"-1", b"\x1b]0;pwned\x07", b"\n", b'{"t":"block","step":0}\n', b"\x00\xff"]


@functools.lru_cache(maxsize=1)
def real_recording() -> Path:
    """A short real recording of the seed example (60 steps), made once per process."""
    folder = Path(tempfile.mkdtemp(prefix="gradstep-fuzz-"))
    return record_file(SCRIPTS / "seed_sgd.py", folder / "seed.gstep", stop_after=60)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    original = real_recording().read_bytes()
    plain = gzip.decompress(original)
    where = draw(st.sampled_from(["plain", "compressed"]))
    data = bytearray(plain if where == "plain" else original)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "splice", "duplicate", "truncate"]))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif action == "splice":
            data[position:position] = draw(st.sampled_from(SPLICES))
        elif action == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 400))]
        else:
            del data[position:]
        if not data:
            break
    return gzip.compress(bytes(data)) if where == "plain" else bytes(data)


def run_command(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue() + err.getvalue()


def command_args(command: list[str], path: Path) -> list[str]:
    """The command line for one read command on the mutated file (exports write beside it)."""
    if command == ["diff"]:
        return ["diff", str(real_recording()), str(path)]
    if command[0] == "export":
        return ["export", str(path), "-o", str(path.parent / command[-1])]
    return [*command, str(path)]


@dataclass
class Figures:
    """What the run saw, for the README: per command its worst time, peak traced memory and exit codes."""

    examples: int = 0
    worst_s: dict[str, float] = field(default_factory=dict)
    peak_bytes: dict[str, int] = field(default_factory=dict)
    codes: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, command: str, code: int, elapsed: float, peak: int) -> None:
        self.worst_s[command] = max(self.worst_s.get(command, 0.0), elapsed)
        self.peak_bytes[command] = max(self.peak_bytes.get(command, 0), peak)
        self.codes.setdefault(command, Counter())[code] += 1

    def table(self, seconds: float) -> list[str]:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        lines = [f"{self.examples:,} examples in {seconds:,.0f} s; the test process's peak RSS {rss:,.0f} MB",
                 "| command | worst time | peak memory (traced) | exit codes seen |", "| --- | --- | --- | --- |"]
        for command, worst in self.worst_s.items():
            codes = ", ".join(f"{code} ×{count:,}" for code, count in sorted(self.codes[command].items()))
            lines.append(f"| `{command}` | {worst:.2f} s | {self.peak_bytes[command] / 2**20:.1f} MB | {codes} |")
        return lines


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """The run's figures, printed when the test is done (with or without -s)."""
    seen, started = Figures(), time.perf_counter()
    yield seen
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not seen.examples:
        return
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        reporter.write_line("")
        for line in seen.table(time.perf_counter() - started):
            reporter.write_line(line)


@pytest.mark.timeout(max(300, EXAMPLES * 15))  # about 1.5 s an example on a busy 2-core machine
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=mutated())
def test_every_read_command_on_a_mutated_recording_ends_in_0_1_or_2(content: bytes, figures: Figures) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.gstep"
        path.write_bytes(content)
        for command in COMMANDS:
            args = command_args(command, path)
            tracemalloc.start()
            started = time.perf_counter()
            code, text = run_command(args)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            figures.add(" ".join(command), code, elapsed, peak)
            assert code in (0, 1, 2), (args, text[-2000:])
            assert "Traceback" not in text, text[-2000:]
            assert elapsed < 5.0, (args, elapsed)
            assert peak < 500 * 2**20, (args, peak)
        # replay's load: what the app gets before it mounts, or the one line it exits with
        tracemalloc.start()
        started = time.perf_counter()
        try:
            load_recording(path)
            code = 0
        except cli.GradstepError as error:
            code = error.exit_code
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures.add("load_recording (replay)", code, elapsed, peak)
        assert elapsed < 5.0 and peak < 500 * 2**20, (elapsed, peak)
    figures.examples += 1
