"""Fixtures shared by every test: the seed example scripts and a clean working directory."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
REPO = Path(__file__).parent.parent
# The lesson ids are part of the CLI contract (`gradstep lesson ID`).
LESSON_IDS = [
    "01-tensors",
    "02-autograd",
    "03-sgd-to-15",
    "04-accumulation",
    "05-my-network",
    "06-linear-regression",
    "07-custom-function",
    "08-challenge",
]


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """Predict mode's progress files go to a fresh folder, never the user's data directory."""
    folder = tmp_path_factory.mktemp("gradstep-data")
    monkeypatch.setenv("GRADSTEP_DATA_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_script_left_running():
    """A test ends with no in-process script thread alive: one left running would put back the streams,
    argv and sys.path it replaced in the middle of a later test (whose output then goes nowhere)."""
    yield
    deadline = time.monotonic() + 10.0
    while (left := [t for t in threading.enumerate() if t.name == "gradstep-script"]) and time.monotonic() < deadline:
        left[0].join(0.1)
    assert not left, "the test left a script running: stop it and wait for it (Driver.close())"


@pytest.fixture
def script(tmp_path: Path):
    """Copy a script from tests/scripts into tmp_path and return its path: `script("seed_sgd.py")`."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copy(SCRIPTS / name, target)
        return target

    return copy
