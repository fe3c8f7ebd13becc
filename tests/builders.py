"""Plain-data builders the tests share: a TensorView and a recording Header (no torch needed)."""

from __future__ import annotations

from tests.conftest import SCRIPTS
from tui.steps.model import Header, Summary, TensorView, Values
from tui.steps.recording import FORMAT_VERSION

SEED_SOURCE = (SCRIPTS / "seed_sgd.py").read_text()


def tensor_view(
    value: Values | None,
    *,
    grad: Values | None = None,
    shape: tuple[int, ...] = (),
    summary: Summary | None = None,
    version: int = 0,
    grad_fn: str | None = None,
    accumulated: int = 0,
    leaf: bool = True,
    requires_grad: bool = True,
) -> TensorView:
    """A float32 CPU tensor (0-d unless `shape` says otherwise); without .grad nothing has accumulated."""
    return TensorView(
        shape=shape,
        dtype="float32",
        device="cpu",
        requires_grad=requires_grad,
        is_leaf=leaf,
        grad_fn=grad_fn,
        version=version,
        value=value,
        summary=summary,
        has_grad=grad is not None,
        grad=grad,
        accumulated=accumulated if grad is not None else 0,
    )


def header(source: str = SEED_SOURCE, script: str = "seed_sgd.py", device: str = "cpu") -> Header:
    """A header as a recording of `script` would carry."""
    return Header(
        format_version=FORMAT_VERSION,
        gradstep="0.1.0",
        torch="2.13.0",
        python="3.11.7",
        device=device,
        device_name=None,
        script=script,
        source=source,
        created="2026-11-22T00:00:00+00:00",
    )
