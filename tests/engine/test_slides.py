"""Graphs for slides: values on every node, title, legend, --scale for PNG; the flip-book's fixed frames and GIF."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.engine.recorded import seed_recording
from tui.cli import main
from tui.steps.recording import load_recording

pytestmark = [
    pytest.mark.graphviz,
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed"),
]


def _mul_step() -> int:
    steps = load_recording(seed_recording()).steps
    return next(step.index for step in steps if step.node is not None and step.node.name == "MulBackward0")


def test_seed_png_at_scale_2_is_wide_with_every_nodes_value(tmp_path: Path) -> None:
    """GIVEN the seed example at MulBackward0 WHEN exported --scale 2 THEN ≥ 900 px, every node with its numbers."""
    step = _mul_step()
    png, dot = tmp_path / "g.png", tmp_path / "g.dot"
    assert main(["export", str(seed_recording()), "--step", str(step), "--scale", "2", "-o", str(png)]) == 0
    assert main(["export", str(seed_recording()), "--step", str(step), "-o", str(dot)]) == 0
    with Image.open(png) as image:
        assert image.size[0] >= 900
    source = dot.read_text()
    # The picture's own nodes (make_dot's names), not the legend's or the graph's statements.
    labels = {}
    for name, quoted, bare in re.findall(r'^\t(\w+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\w+))', source, re.MULTILINE):
        if re.fullmatch(r"(fn|t|leaf|saved)\d+(_\d+)?|root", name):
            labels[name] = quoted or bare  # the last label statement wins, as in Graphviz
    assert len(labels) == 8  # loss, var_1, var_2 and five functions
    for name, label in labels.items():
        if label.startswith("AccumulateGrad"):
            continue  # it makes no tensor: the leaf above it carries the value
        assert "value" in label or " = " in label or "grad " in label, (name, label)
    assert any("my_latent_value = 12.0000 | grad -6.0000" in label for label in labels.values())
    assert "value 3.0000" in source and "value 4.0000" in source and "= -24" in source and "= -18" in source
    assert f'label="step {step} · line 11 · MulBackward0: grad in -6' in source  # the title
    assert "node backward() is running" in source and "node already run in this pass" in source  # the legend


def test_plain_leaves_title_and_legend_off(tmp_path: Path) -> None:
    dot = tmp_path / "g.dot"
    assert main(["export", str(seed_recording()), "--step", str(_mul_step()), "--plain", "-o", str(dot)]) == 0
    source = dot.read_text()
    assert "cluster_legend" not in source and "labelloc" not in source and "my_latent_value =" not in source


def test_flip_book_fixed_frames_first_pass_and_gif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN the seed example WHEN --all-steps --animate gif THEN the first pass, one size, a caption each, a GIF."""
    out = tmp_path / "flip.png"
    assert main(["export", str(seed_recording()), "--all-steps", "--animate", "gif", "-o", str(out)]) == 0
    paths = [Path(line) for line in capsys.readouterr().out.split()]
    frames, gif = paths[:-1], paths[-1]
    assert gif == tmp_path / "flip.gif"
    steps = load_recording(seed_recording()).steps
    first_pass = [step.index for step in steps if step.kind in ("backward", "accumulate")][: len(frames)]
    assert first_pass[0] == next(step.index for step in steps if step.kind == "backward")
    sizes = set()
    for frame in frames:
        with Image.open(frame) as image:
            sizes.add(image.size)
    assert len(sizes) == 1
    with Image.open(gif) as image:
        assert image.n_frames == len(frames) and image.size in sizes
    dot_out = tmp_path / "flip.dot"
    assert main(["export", str(seed_recording()), "--all-steps", "-o", str(dot_out)]) == 0
    captions = [Path(line).read_text() for line in capsys.readouterr().out.split()]
    for index, source in zip(first_pass, captions):
        assert f'label="step {index} · line 11 · ' in source
