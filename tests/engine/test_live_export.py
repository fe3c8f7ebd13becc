"""Exporting from a live session: torchviz draws the paused script's own tensors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine.drive import Driver
from tui.errors import BadInput
from tui.render.graph_files import ExportRequest, export_step

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("dot") is None, reason="Graphviz's dot is not installed (apt install graphviz)"
)


def svg_texts(path: Path) -> list[str]:
    """Every text drawn in an SVG (node labels, line by line), sorted."""
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text()))


def test_a_paused_session_exports_its_live_graph_like_the_recorded_step(script, tmp_path: Path) -> None:
    # GIVEN the seed example paused on the line after loss.backward()
    driver = Driver(script("seed_sgd.py"))
    step = driver.first
    try:
        while step.line != 12:
            step = driver.send("step_over")
        # WHEN the learner exports the loss's graph from the live tensors
        out = tmp_path / "live.svg"
        result = driver.session.export_live(ExportRequest(output=out, format="svg", tensor="loss"))
        # THEN torchviz drew the graph with the leaves' values and grads on it
        svg = out.read_text().replace("&#45;", "-")  # SVG escapes the minus sign
        assert result.paths == (out,)
        for text in ("PowBackward0", "RsubBackward1", "MulBackward0", "var_1", "var_2", "-24.0000", "-18.0000"):
            assert text in svg
        # AND the recorded step draws the same nodes with the same labels
        recorded = tmp_path / "recorded.svg"
        export_step(step, ExportRequest(output=recorded, format="svg", tensor="loss"))
        assert svg_texts(out) == svg_texts(recorded)
    finally:
        driver.close()


def test_export_live_needs_a_paused_script(script) -> None:
    driver = Driver(script("seed_sgd.py"))
    driver.close()
    with pytest.raises(BadInput, match="pause it"):
        driver.session.export_live(ExportRequest(output=Path("never.svg")))
