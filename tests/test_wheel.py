"""The wheel ships the lessons and the recording schema, and finds them outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.skip(f"could not build the wheel here (pip wheel needs the build backend): {result.stderr[-300:]}")
    return next(out.glob("gradstep-*.whl"))


def test_the_wheel_holds_every_lesson_and_the_schema(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    lessons = sorted(Path(name).name for name in names if name.startswith("tui/_lessons/"))
    assert lessons == sorted(path.name for path in (REPO / "lessons").glob("*.py"))
    assert "tui/_assets/recording.schema.json" in names
    assert any(name.endswith("entry_points.txt") for name in names)


def test_lessons_are_found_from_the_unpacked_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = "from tui.cli import main; raise SystemExit(main(['lessons', '--json']))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [lesson["id"] for lesson in listed][:3] == ["01-tensors", "02-autograd", "03-sgd-to-15"]
    assert len(listed) == 8
    assert all(Path(lesson["path"]).is_relative_to(site) for lesson in listed)
