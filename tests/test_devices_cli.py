"""`gradstep devices`: cpu, cuda (even when unavailable, with its reason) and mps; CUDA runs diff against CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import SCRIPTS
from tui.cli import main

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU here (torch.cuda.is_available() is False)"
)


def gradstep(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_devices_json_lists_cpu_cuda_and_mps_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    assert all(set(device) == {"name", "available", "reason", "details"} for device in devices)
    names = [device["name"] for device in devices]
    assert names[0] == "cpu" and devices[0]["available"] is True
    cuda = [device for device in devices if device["name"].startswith("cuda")]
    assert cuda, "cuda must be listed even when it cannot be used"
    assert cuda[0]["available"] == torch.cuda.is_available()
    for device in devices:
        assert device["available"] or device["reason"], f"{device['name']} is unavailable without a reason"
    assert "mps" in names


def test_devices_table_shows_every_device_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "cpu" in out and "cuda" in out and "mps" in out
    if not torch.cuda.is_available():
        assert "no" in out and ("CPU-only" in out or "no NVIDIA driver" in out)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU, so cuda is available")
def test_an_unavailable_device_is_one_line_exit_2(tmp_path: Path) -> None:
    result = gradstep("export", str(SCRIPTS / "seed_sgd.py"), "--device", "cuda", "-o", str(tmp_path / "g.dot"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "cuda" in result.stderr


@pytest.mark.cuda
@needs_cuda
def test_seed_example_on_cuda_diffs_clean_against_cpu(tmp_path: Path) -> None:
    """The same script recorded on cuda and on cpu: the numbers agree within the default tolerance."""
    cpu, cuda = tmp_path / "cpu.gstep", tmp_path / "cuda.gstep"
    for device, path in (("cpu", cpu), ("cuda", cuda)):
        recorded = gradstep("record", str(SCRIPTS / "seed_sgd.py"), "--device", device, "-o", str(path))
        assert recorded.returncode == 0, recorded.stderr
    shown = json.loads(gradstep("show", str(cuda), "--json").stdout)
    assert shown["tensors"]["var_1"]["device"].startswith("cuda")
    compared = gradstep("diff", str(cpu), str(cuda))
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "no tensor differs" in compared.stdout


@pytest.mark.cuda
@needs_cuda
def test_devices_json_on_a_gpu_names_each_cuda_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    cuda = [device for device in devices if device["name"].startswith("cuda:")]
    assert len(cuda) == torch.cuda.device_count()
    assert all(device["available"] and "GiB" in device["details"] for device in cuda)
