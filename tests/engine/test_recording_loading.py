"""A recording someone sent you: bombs, cut files, crafted fields and damaged data end in one line.

Every crafted file starts from a real recording of tests/scripts/seed_sgd.py made by the engine,
with one line changed; each command is run as a user runs it (tui.cli.main, in-process).
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import pytest

from tests.engine.recorded import seed_recording
from tui import cli
from tui.steps.recording import RecordingWriter, load_recording, read_step


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines_of(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines()


def crafted(tmp_path: Path, change: Callable[[list[dict[str, Any]]], None], *, raw: Callable[[str], str] | None = None) -> Path:
    """The real seed recording with its records changed (then written as plain gzip)."""
    records = [json.loads(line) for line in lines_of(seed_recording())]
    change(records)
    text = "\n".join(json.dumps(record) for record in records) + "\n"
    if raw is not None:
        text = raw(text)
    path = tmp_path / "crafted.gstep"
    path.write_bytes(gzip.compress(text.encode("utf-8", "surrogatepass")))
    return path


def first_step_with(records: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return next(record for record in records if record.get("t") == "step" and test(record))


def set_line(value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(records: list[dict[str, Any]]) -> None:
        first_step_with(records, lambda r: r["step"]["line"] is not None)["step"]["line"] = value

    return change


def set_shape(records: list[dict[str, Any]]) -> None:
    first_step_with(records, lambda r: bool(r["set"]))["set"]["var_1"]["shape"] = [-3]


def set_header(key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(records: list[dict[str, Any]]) -> None:
        records[0][key] = value

    return change


def nested(depth: int) -> Callable[[list[dict[str, Any]]], None]:
    def change(records: list[dict[str, Any]]) -> None:
        first_step_with(records, lambda r: True)["step"]["scalars"] = {"deep": "@@DEEP@@"}

    return change


CRAFTED = {
    "line-as-string": (set_line("eleven"), None, "step.line should be an integer"),
    "line-as-list": (set_line([1, 2]), None, "step.line should be an integer"),
    "1e999-as-line": (set_line(0), lambda t: t.replace('"line": 0,', '"line": 1e999,', 1), "out of range"),
    "5000-digit-integer": (set_line(0), lambda t: t.replace('"line": 0,', '"line": ' + "9" * 5000 + ",", 1), "digits"),
    "nested-700-deep": (nested(700), lambda t: t.replace('"@@DEEP@@"', "[" * 700 + "]" * 700, 1), "nested deeper"),
    "lone-surrogate-in-stdout": (
        lambda records: first_step_with(records, lambda r: True)["step"].update(output="@@S@@"),
        lambda t: t.replace("@@S@@", "\\ud800", 1),
        "lone surrogate",
    ),
    "lone-surrogate-in-a-name": (
        lambda records: first_step_with(records, lambda r: bool(r["set"]))["set"].update({"@@S@@": None}),
        lambda t: t.replace("@@S@@", "x\\udc80", 1),
        "lone surrogate",
    ),
    "format-version-0": (set_header("format_version", 0), None, "format version is 0"),
    "format-version-minus-1": (set_header("format_version", -1), None, "format version is -1"),
    "format-version-true": (set_header("format_version", True), None, "format version is True"),
    "nan-constant": (set_line(0), lambda t: t.replace('"line": 0,', '"line": NaN,', 1), "not strict JSON"),
    "infinity-constant": (set_line(0), lambda t: t.replace('"line": 0,', '"line": -Infinity,', 1), "not strict JSON"),
    "negative-shape": (set_shape, None, "should be 0 or more"),
    "list-where-a-string-belongs": (
        lambda records: first_step_with(records, lambda r: True)["step"].update(function=["f"]),
        None,
        "step.function should be a string",
    ),
    "device-as-a-list": (set_header("device", ["cpu"]), None, "the header.device should be a string"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
@pytest.mark.parametrize("command", [["show"], ["show", "--json"], ["show", "--timeline"], ["show", "--step", "3"], ["diff"]])
def test_a_crafted_field_is_exit_2_naming_what_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, command: list[str]
) -> None:
    change, raw, fragment = CRAFTED[name]
    path = crafted(tmp_path, change, raw=raw)
    args = [*command, str(path)] if command != ["diff"] else ["diff", str(seed_recording()), str(path)]
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert "line" in err  # where: the file's line


def test_show_json_is_strict_json_even_when_a_value_is_not_finite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = crafted(tmp_path, lambda records: first_step_with(records, lambda r: bool(r["set"]))["set"]["var_1"].update(value="nan"))
    code, out, err = run(capsys, "show", str(path), "--step", "0", "--json")
    assert code == 0, err
    json.loads(out, parse_constant=lambda text: pytest.fail(f"{text} in show --json"))


def test_a_2mb_bomb_is_refused_in_under_a_second(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a 2 MB gzip file whose second line decompresses to about 2 GB of one string
    header = lines_of(seed_recording())[0]
    start = zlib.compressobj(9, zlib.DEFLATED, 31)
    opening = start.compress(header + b'\n{"t":"step","step":{"output":"') + start.flush(zlib.Z_FULL_FLUSH)
    repeat = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = repeat.compress(b"A" * 2**20) + repeat.flush(zlib.Z_FULL_FLUSH)  # stands alone: repeatable
    parts = [opening] + [segment] * (2 * 2**20 // len(segment) + 1)
    bomb = tmp_path / "bomb.gstep"
    bomb.write_bytes(b"".join(parts))
    assert 2 * 2**20 <= bomb.stat().st_size < 3 * 2**20
    # WHEN show reads it
    tracemalloc.start()
    started = time.perf_counter()
    code, out, err = run(capsys, "show", str(bomb), "--last")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # THEN it is refused in one line, quickly and without holding the bomb
    assert code == 2 and "longer than" in err and len(err.strip().splitlines()) == 1, err
    assert elapsed < 1.0, elapsed
    assert peak < 300 * 2**20, peak


def test_many_small_lines_past_the_budget_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = lines_of(seed_recording())[0]
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    line = b'{"t":"block","step":0}\n' * 40_000  # lines that are not steps, over and over
    parts = [compressor.compress(header + b"\n")]
    for _ in range(400):  # about 370 MB of lines, under 1 MB of file
        parts.append(compressor.compress(line))
    parts.append(compressor.flush())
    bomb = tmp_path / "wide.gstep"
    bomb.write_bytes(b"".join(parts))
    code, _, err = run(capsys, "show", str(bomb))
    assert code == 2 and "not a step" in err, err


def test_a_damaged_checksum_says_damaged_not_foreign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(gzip.compress(gzip.decompress(seed_recording().read_bytes())))
    data[-8] ^= 0xFF  # the CRC32 of the only member
    path = tmp_path / "damaged.gstep"
    path.write_bytes(bytes(data))
    code, _, err = run(capsys, "show", str(path), "--timeline")
    assert code == 2 and "is damaged" in err and "not a gradstep" not in err, err


def test_a_file_without_its_trailer_shows_with_a_notice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(seed_recording())
    end = next(i for i, line in enumerate(lines) if line.startswith(b'{"t":"end"'))
    cut = tmp_path / "cut.gstep"
    cut.write_bytes(gzip.compress(b"\n".join(lines[:end]) + b"\n"))
    count = sum(line.startswith(b'{"t":"step"') for line in lines[:end])
    code, out, err = run(capsys, "show", str(cut), "--last", "--json")
    assert code == 0 and json.loads(out)["steps"] == count
    assert err.strip() == f"gradstep: the recording ends early: {count} complete steps"


def test_show_last_through_the_index_equals_the_whole_load(capsys: pytest.CaptureFixture[str]) -> None:
    recording = load_recording(seed_recording())
    for wanted in (0, 1, len(recording.steps) // 2, None):
        at = read_step(seed_recording(), wanted)
        index = len(recording.steps) - 1 if wanted is None else wanted
        assert at.step == recording.steps[index] and at.count == len(recording.steps) and at.complete
        assert at.output == "".join(step.output for step in recording.steps[: index + 1])


def test_blocks_let_a_reader_start_midway(tmp_path: Path) -> None:
    recording = load_recording(seed_recording())
    path = tmp_path / "small-blocks.gstep"
    with mock.patch("tui.steps.recording.BLOCK_STEPS", 100):
        with RecordingWriter(path, recording.header) as writer:
            for step in recording.steps:
                writer.append(step)
    for wanted in (99, 100, 101, 777, len(recording.steps) - 1):
        assert read_step(path, wanted).step == recording.steps[wanted]
    assert load_recording(path).steps == recording.steps


def test_an_existing_recording_is_replaced_only_by_a_rename(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = load_recording(seed_recording())
    path = tmp_path / "run.gstep"
    path.write_bytes(seed_recording().read_bytes())
    before = path.read_bytes()
    writer = RecordingWriter(path, recording.header)
    writer.append(recording.steps[0])
    assert path.read_bytes() == before  # written beside it, not over it
    writer.close()
    assert len(load_recording(path).steps) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.gstep"]


def test_a_full_disk_names_the_path_and_keeps_the_old_file(tmp_path: Path) -> None:
    recording = load_recording(seed_recording())
    path = tmp_path / "run.gstep"
    path.write_bytes(seed_recording().read_bytes())
    before = path.read_bytes()
    writer = RecordingWriter(path, recording.header)
    with mock.patch("gzip.GzipFile.write", side_effect=OSError(28, "No space left on device")):
        with pytest.raises(Exception, match=f"cannot write {path}: No space left on device"):
            for step in recording.steps:
                writer.append(step)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.gstep"]
