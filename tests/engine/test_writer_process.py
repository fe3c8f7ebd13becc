"""`gradstep record` writes through a writer process (tui.steps.sink): the same file, and its failures
are the recorder's one-line errors, never a lost file or a hung run."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from tests.engine.recorded import seed_recording
from tests.engine.test_recording_size import recording_endless, show_last
from tui.steps.recording import RecordingWriter, load_recording, read_step

NOISY = """\
import torch
torch.manual_seed(0)
w = torch.randn(200, requires_grad=True)
for i in range(3000):
    w.data += torch.randn(200)
"""


def _write(path: Path, background: bool) -> None:
    recording = load_recording(seed_recording())
    with mock.patch("tui.steps.recording.BLOCK_STEPS", 100), RecordingWriter(path, recording.header, background=background) as writer:
        for step in recording.steps:
            writer.append(step)


def test_the_writer_process_writes_the_very_file_written_in_process(tmp_path: Path) -> None:
    # GIVEN a real recording's steps, in blocks of 100 (so block starts and the index are exercised)
    here, there = tmp_path / "here.gstep", tmp_path / "there.gstep"
    # WHEN they are written in this process and through the writer process
    _write(here, background=False)
    _write(there, background=True)
    # THEN the two files are byte for byte the same, and read back as the steps
    assert there.read_bytes() == here.read_bytes()
    recording = load_recording(seed_recording())
    assert load_recording(there).steps == recording.steps
    assert read_step(there, 777).step == recording.steps[777]


def _writers(pid: int) -> list[int]:
    """The writer processes among a process's children (Linux's /proc; none found elsewhere)."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [child for child in children if b"child_main" in Path(f"/proc/{child}/cmdline").read_bytes()]
    except OSError:
        return []


def test_a_file_that_cannot_grow_is_a_one_line_error_and_the_old_file_stays(tmp_path: Path) -> None:
    # GIVEN an existing recording and a file size limit the new recording passes (the writer process
    # inherits it, as it would a full disk)
    script = tmp_path / "noisy.py"
    script.write_text(NOISY)
    out = tmp_path / "run.gstep"
    out.write_bytes(b"the old recording")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))

    # WHEN it is recorded
    result = subprocess.run([sys.executable, "-m", "tui", "record", str(script), "-o", str(out)],
                            capture_output=True, text=True, timeout=300, preexec_fn=limit)
    # THEN exit 2 with one line naming the file and the reason; the old file is whole, no partial is left
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"gradstep: error: cannot write {out}: File too large"
    assert "Traceback" not in result.stderr + result.stdout
    assert out.read_bytes() == b"the old recording"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["noisy.py", "run.gstep"]


def test_a_writer_process_that_dies_ends_record_with_a_one_line_error(tmp_path: Path) -> None:
    process, out = recording_endless(tmp_path, "run.gstep")
    writers = _writers(process.pid)
    if not writers:
        pytest.skip("no /proc children list on this system")
    # WHEN the writer process is killed while the script runs
    os.kill(writers[0], signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    # THEN record stops with exit 2 and says so in one line
    assert process.returncode == 2, err
    assert err.splitlines()[-1] == f"gradstep: error: cannot write {out}: the recording's writer process stopped"
    assert "Traceback" not in err


def test_ctrl_c_on_the_terminal_ends_the_recording_whole(tmp_path: Path) -> None:
    # GIVEN record running in a terminal's process group (^C reaches every process of the group)
    process, out = recording_endless(tmp_path, "run.gstep", start_new_session=True)
    time.sleep(0.3)
    # WHEN the group gets SIGINT
    os.killpg(process.pid, signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    # THEN the recording ends with its interrupted step, trailer and index (the writer finished it)
    assert process.returncode == 130, stdout
    code, state, err = show_last(out)
    assert code == 0 and err == "" and state["kind"] == "end"
