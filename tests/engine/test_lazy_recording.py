"""tui.steps.lazy: an indexed recording read block by block gives the steps a whole load gives, in bounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest

import tui.steps.recording as recording_module
from tests.fixtures.recordings import fixture, load
from tui.errors import RecordingError
from tui.steps.lazy import CACHED_BLOCKS, LazyRecording, open_recording
from tui.steps.recording import load_recording, write_recording


@pytest.fixture
def blocks_of_30(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed example's 1,421 recorded steps written again in blocks of 30 steps (48 blocks)."""
    monkeypatch.setattr(recording_module, "BLOCK_STEPS", 30)
    source = load("seed_sgd")
    path = tmp_path / "seed-blocks.gstep"
    write_recording(path, source.header, source.steps)
    return path


def test_every_step_is_the_one_a_whole_load_gives(blocks_of_30: Path) -> None:
    eager = load_recording(blocks_of_30).steps
    lazy = open_recording(blocks_of_30)
    assert isinstance(lazy, LazyRecording) and lazy.steps.blocks == 48 and len(lazy.steps) == len(eager)
    assert lazy.header == load_recording(blocks_of_30).header
    assert list(lazy.steps) == list(eager)
    assert [lazy.steps[index] for index in (0, 29, 30, 31, 700, -1, -30)] == [eager[index] for index in (0, 29, 30, 31, 700, -1, -30)]
    assert list(lazy.steps[25:95:7]) == list(eager[25:95:7]) and len(lazy.steps[25:95:7]) == len(eager[25:95:7])
    assert list(lazy.steps[:40][35:]) == list(eager[35:40])
    with pytest.raises(IndexError):
        lazy.steps[len(eager)]


def test_walking_the_whole_recording_decodes_each_block_once_and_keeps_few(blocks_of_30: Path) -> None:
    lazy = open_recording(blocks_of_30)
    assert isinstance(lazy, LazyRecording)
    assert lazy.steps.decoded == 1  # opening reads the first block only
    for _ in lazy.steps:
        assert len(lazy.steps._cache) <= CACHED_BLOCKS
    assert lazy.steps.decoded == 48
    for index in range(len(lazy.steps) - 1, -1, -1):  # ← all the way back: one decode per block again
        lazy.steps[index]
    assert lazy.steps.decoded <= 48 + 48


def test_output_up_to_a_step_is_the_whole_loads(blocks_of_30: Path) -> None:
    eager = load_recording(blocks_of_30).steps
    lazy = open_recording(blocks_of_30)
    assert isinstance(lazy, LazyRecording)
    for at in (0, 29, 30, 500, len(eager) - 1):
        whole = "".join(step.output for step in eager[: at + 1])
        assert lazy.steps.output_through(at, 10**6) == whole
        assert lazy.steps.output_through(at, 50) == whole[-50:]
    assert "".join(step.output for step in eager)  # the seed example prints: the check above is not of empty text


def test_a_damaged_block_is_a_one_line_error_when_it_is_read(blocks_of_30: Path) -> None:
    lazy = open_recording(blocks_of_30)
    assert isinstance(lazy, LazyRecording)
    start, end = lazy.steps.file_index.blocks[20][1], lazy.steps.file_index.blocks[21][1]
    data = bytearray(blocks_of_30.read_bytes())
    for at in range(start + 10, end - 10, 7):
        data[at] ^= 0x5A
    blocks_of_30.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as error:  # at opening (a small file: its header's read inflates it) or at the block
        damaged = open_recording(blocks_of_30)
        assert isinstance(damaged, LazyRecording)
        list(damaged.steps)
    assert str(blocks_of_30) in str(error.value) and "\n" not in str(error.value)


def test_a_file_cut_short_loads_whole_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    data = fixture("seed_sgd").path.read_bytes()
    cut = tmp_path / "cut.gstep"
    cut.write_bytes(data[: len(data) // 2])
    opened = open_recording(cut)
    assert not isinstance(opened, LazyRecording) and not opened.complete
    assert opened.steps == load_recording(cut).steps and len(opened.steps) > 100
    with pytest.raises(RecordingError, match="no such recording"):
        open_recording(Path("/nonexistent/file.gstep"))
