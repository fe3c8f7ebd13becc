"""Fuzz: mutated real recordings through every read command end in exit 0, 1 or 2, never 70 or a traceback.

Short profile by default (CI); the long one: GRADSTEP_FUZZ_EXAMPLES=2000 pytest tests/engine/test_fuzz_recordings.py
(README, "Recordings", has its figures). Each command must answer within 5 s and 500 MB.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import os
import tempfile
import time
import tracemalloc
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


@pytest.mark.timeout(max(300, EXAMPLES * 15))  # about 1.5 s an example on a busy 2-core machine
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=mutated())
def test_every_read_command_on_a_mutated_recording_ends_in_0_1_or_2(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated.gstep"
        path.write_bytes(content)
        for command in COMMANDS:
            args = ["diff", str(real_recording()), str(path)] if command == ["diff"] else [*command, str(path)]
            tracemalloc.start()
            started = time.perf_counter()
            code, text = run_command(args)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert code in (0, 1, 2), (args, text[-2000:])
            assert "Traceback" not in text, text[-2000:]
            assert elapsed < 5.0, (args, elapsed)
            assert peak < 500 * 2**20, (args, peak)
        # replay's load: what the app gets before it mounts, or the one line it exits with
        try:
            load_recording(path)
        except cli.GradstepError:
            pass
