"""The gradstep command as a user runs it: exit codes, one-line errors, recordings and `show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS


def gradstep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=240
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gradstep: error:")
    assert fragment in lines[0]


@pytest.fixture(scope="module")
def seed_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """seed_sgd.py recorded once, every step, for the show tests."""
    path = tmp_path_factory.mktemp("rec") / "seed.gstep"
    result = gradstep("record", str(SCRIPTS / "seed_sgd.py"), "-o", str(path))
    assert result.returncode == 0, result.stderr
    return path


def show_json(*args: str) -> object:
    result = gradstep("show", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)




def test_record_then_show_the_end_state(seed_recording: Path) -> None:
    state = show_json(str(seed_recording), "--last")
    assert state["kind"] == "end"
    assert state["step"] == state["steps"] - 1
    assert round(state["tensors"]["var_1"]["value"], 4) == 3.4505
    assert round(state["tensors"]["var_2"]["value"], 4) == 4.3472
    assert state["stdout"] == "tensor(3.4505, requires_grad=True) tensor(4.3472, requires_grad=True)\n"
    assert set(state) >= {"step", "steps", "kind", "phase", "line", "iteration", "tensors", "node", "exception", "stdout"}
    assert set(state["tensors"]["var_1"]) >= {
        "shape", "dtype", "device", "requires_grad", "is_leaf", "grad_fn", "value", "grad", "summary"
    }


def test_timeline_names_the_backward_nodes_in_order(seed_recording: Path) -> None:
    timeline = show_json(str(seed_recording), "--timeline")
    assert set(timeline[0]) == {"step", "kind", "phase", "line", "iteration", "node"}
    first_backward = [entry["node"] for entry in timeline if entry["kind"] in ("backward", "accumulate")][:5]
    assert first_backward == ["PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    step = next(entry["step"] for entry in timeline if entry["node"] == "MulBackward0")
    state = show_json(str(seed_recording), "--step", str(step))
    assert state["node"]["name"] == "MulBackward0"
    assert state["node"]["grad_outputs"] == [-6.0]
    assert state["node"]["grad_inputs"] == [-24.0, -18.0]


def test_show_prints_a_table_for_people(seed_recording: Path) -> None:
    result = gradstep("show", str(seed_recording))
    assert result.returncode == 0, result.stderr
    assert "var_1" in result.stdout and "3.4505" in result.stdout


def test_record_breaks_only_keeps_breakpoints_and_the_end(tmp_path: Path) -> None:
    out = tmp_path / "breaks.gstep"
    result = gradstep("record", str(SCRIPTS / "seed_sgd.py"), "-o", str(out), "--break", "17", "--breaks-only")
    assert result.returncode == 0, result.stderr
    timeline = show_json(str(out), "--timeline")
    assert [entry["line"] for entry in timeline[:-1]] == [17] * 100
    assert timeline[-1]["kind"] == "end"


def test_a_script_that_raises_exits_1_and_keeps_its_recording(tmp_path: Path) -> None:
    out = tmp_path / "raises.gstep"
    result = gradstep("record", str(SCRIPTS / "raises.py"), "-o", str(out))
    assert result.returncode == 1
    assert "ValueError: the learning rate exploded" in result.stderr
    state = show_json(str(out), "--last")
    assert state["kind"] == "exception"
    assert state["line"] == 8
    assert state["iteration"] == 3
    assert state["exception"] == {"type": "ValueError", "message": "the learning rate exploded", "line": 8}
    assert state["steps"] > 5


def test_a_step_limit_is_an_explicit_step(tmp_path: Path) -> None:
    out = tmp_path / "limit.gstep"
    result = gradstep("record", str(SCRIPTS / "seed_sgd.py"), "-o", str(out), "--max-steps", "20")
    assert result.returncode == 0, result.stderr
    state = show_json(str(out), "--last")
    assert state["kind"] == "limit"
    assert state["steps"] == 21


def test_showing_never_runs_the_script(tmp_path: Path, script) -> None:
    writer = script("writes_file.py")
    written = writer.with_name("written-by-script.txt")
    out = tmp_path / "writes.gstep"
    assert gradstep("record", str(writer), "-o", str(out)).returncode == 0
    written.unlink()
    show_json(str(out), "--last")
    show_json(str(out), "--timeline")
    assert gradstep("show", str(out)).returncode == 0
    assert not written.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["record", "missing.py", "-o", "x.gstep"], "no such script: missing.py"),
        (["record", str(SCRIPTS / "syntax_error.py"), "-o", "x.gstep"], "SyntaxError at line 3"),
        (["record", str(SCRIPTS / "seed_sgd.py"), "-o", "/nonexistent/dir/x.gstep"], "cannot write"),
        (["record", str(SCRIPTS / "seed_sgd.py"), "-o", "x.gstep", "--device", "cuda:7"], "cuda:7"),
        (["show", "missing.gstep"], "no such recording"),
        (["export", str(SCRIPTS / "seed_sgd.py"), "-o", "graph.bmp"], "cannot write graph.bmp as .bmp"),
    ],
    ids=["missing-script", "syntax-error", "unwritable-output", "bad-device", "missing-recording", "bad-suffix"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_one_line_error(gradstep(*args, cwd=tmp_path), 2, fragment)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x1f\x8b\x08\x00garbage", "damaged or cut short"),
        (os.urandom(2048), "not a gradstep recording"),
        (b"just some notes\n", "not a gradstep recording"),
    ],
    ids=["truncated", "random-bytes", "text-file"],
)
def test_a_corrupt_recording_is_one_line_and_exit_2(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "bad.gstep"
    bad.write_bytes(content)
    assert_one_line_error(gradstep("show", str(bad)), 2, fragment)


def test_a_recording_from_a_newer_gradstep_is_refused(tmp_path: Path, seed_recording: Path) -> None:
    import gzip

    lines = gzip.open(seed_recording, "rt").read().splitlines()
    header = json.loads(lines[0])
    header["format_version"] += 1
    future = tmp_path / "future.gstep"
    future.write_bytes(gzip.compress(("\n".join([json.dumps(header), *lines[1:]]) + "\n").encode()))
    assert_one_line_error(gradstep("show", str(future)), 2, "newer gradstep")


def test_show_rejects_a_step_out_of_range(seed_recording: Path) -> None:
    assert_one_line_error(gradstep("show", str(seed_recording), "--step", "999999"), 2, "no step 999999")


def test_show_prints_the_leaf_grad_before_and_after_accumulation(seed_recording: Path) -> None:
    timeline = show_json(str(seed_recording), "--timeline")
    second_accumulate = [entry["step"] for entry in timeline if entry["kind"] == "accumulate"][1]
    result = gradstep("show", str(seed_recording), "--step", str(second_accumulate))
    assert result.returncode == 0, result.stderr
    assert "var_2.grad ← -18 (was None)" in result.stdout


def test_a_real_recording_matches_the_schema(seed_recording: Path) -> None:
    import gzip

    jsonschema = pytest.importorskip("jsonschema")
    from tests.conftest import REPO

    validator = jsonschema.Draft202012Validator(json.loads((REPO / "assets" / "recording.schema.json").read_text()))
    lines = gzip.open(seed_recording, "rt").read().splitlines()
    assert len(lines) > 1000
    for line in lines:
        validator.validate(json.loads(line))
    assert seed_recording.stat().st_size < 1_000_000


def test_an_internal_error_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # Stand in for a bug: a sub-command that raises something gradstep did not expect.
    code = (
        "import tui.commands.show as show\n"
        "def broken(args): raise RuntimeError('something inside gradstep broke')\n"
        "show.main = broken\n"
        "from tui.cli import main\n"
        "raise SystemExit(main(['show', 'any.gstep']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 70
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "gradstep: internal error: RuntimeError: something inside gradstep broke "
        "(please report it; GRADSTEP_DEBUG=1 shows the traceback)"
    ]


def test_a_closed_pipe_is_not_an_error(seed_recording: Path) -> None:
    shell = f"{sys.executable} -m tui show {seed_recording} --timeline --json | head -c 10"
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=120)
    assert result.stdout == '[{"step": '
    assert result.stderr == ""


def test_show_prints_brackets_in_code_and_messages_verbatim(tmp_path: Path) -> None:
    source = (
        "import torch\n"
        "out = torch.tensor([1.0, float('nan')])\n"
        "picked = out[0] + out[1:].sum()\n"
        'print("[/]")\n'
        'raise ValueError("expected [batch, features]")\n'
    )
    path = tmp_path / "brackets.py"
    path.write_text(source)
    out = tmp_path / "brackets.gstep"
    assert gradstep("record", str(path), "-o", str(out)).returncode == 1
    line_3 = gradstep("show", str(out), "--step", "2")
    assert line_3.returncode == 0, line_3.stderr
    assert "picked = out[0] + out[1:].sum()" in line_3.stdout
    assert "[1.0000, nan]" in line_3.stdout
    line_4 = gradstep("show", str(out), "--step", "3")
    assert line_4.returncode == 0, line_4.stderr
    assert 'print("[/]")' in line_4.stdout
    last = gradstep("show", str(out))
    assert last.returncode == 0, last.stderr
    assert "ValueError: expected [batch, features] (line 5)" in last.stdout
