"""Which devices a script can run on here, and why the others cannot.

torch is imported inside the functions: listing devices is the only reason
`gradstep devices` needs torch, and the app calls this from a worker thread.
"""

from __future__ import annotations

import platform

from tui.errors import DeviceUnavailable
from tui.steps.runs import DeviceInfo


def _cuda_devices(torch) -> list[DeviceInfo]:
    if torch.version.cuda is None:
        return [DeviceInfo("cuda", False, "this torch build has no CUDA support (a CPU-only build)", None)]
    if not torch.cuda.is_available():
        return [DeviceInfo("cuda", False, "torch has CUDA support but finds no NVIDIA driver or GPU", None)]
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        memory = props.total_memory / 2**30
        devices.append(DeviceInfo(f"cuda:{index}", True, None, f"{props.name}, {memory:.1f} GiB"))
    return devices


def _mps_device(torch) -> DeviceInfo:
    mps = getattr(torch.backends, "mps", None)
    if platform.system() != "Darwin":
        return DeviceInfo("mps", False, "MPS (Apple Metal) needs a Mac", None)
    if mps is None or not mps.is_built():
        return DeviceInfo("mps", False, "this torch build has no MPS support", None)
    if not mps.is_available():
        return DeviceInfo("mps", False, "MPS is built in but not available on this Mac (macOS 12.3+ needed)", None)
    return DeviceInfo("mps", True, None, "Apple Metal Performance Shaders")


def list_devices() -> list[DeviceInfo]:
    """cpu, then cuda (each cuda:N, or one unavailable `cuda` entry), then mps."""
    import torch  # deferred: only listing devices needs torch

    cpu = DeviceInfo("cpu", True, None, platform.processor() or platform.machine() or None)
    return [cpu, *_cuda_devices(torch), _mps_device(torch)]


def resolve_device(name: str | None) -> tuple[str, str | None]:
    """Turn `cpu`, `cuda`, `cuda:N` or `mps` into a usable device and its GPU's name, or say why not."""
    if name is None or name == "cpu":
        return "cpu", None
    wanted = name.strip().lower()
    kind, _, index_text = wanted.partition(":")
    if kind not in ("cuda", "mps") or (index_text and not index_text.isdigit()) or (kind == "mps" and index_text):
        raise DeviceUnavailable(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps")
    devices = list_devices()
    if kind == "mps":
        mps = next(device for device in devices if device.name == "mps")
        if not mps.available:
            raise DeviceUnavailable(f"device mps is unavailable: {mps.reason}")
        return "mps", mps.details
    cuda = [device for device in devices if device.name.startswith("cuda")]
    if not cuda[0].available:
        raise DeviceUnavailable(f"device {name} is unavailable: {cuda[0].reason}")
    target = f"cuda:{index_text or 0}"
    for device in cuda:
        if device.name == target:
            gpu_name = device.details.split(",")[0] if device.details else None
            return target, gpu_name
    raise DeviceUnavailable(f"device {name} is unavailable: this machine has {len(cuda)} CUDA device(s)")
