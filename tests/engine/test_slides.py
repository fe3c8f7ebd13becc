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
            continue  # it makes no tensor: the leaf above it carries the value (checked below)
        assert "value " in label or " = " in label, (name, label)
    assert any("my_latent_value = 12.0000 | grad -6.0000" in label for label in labels.values())
    # `15 - my_latent_value` has no name: its value comes from the tensor PowBackward0 saved.
    assert labels["fn5"] == "RsubBackward1\nvalue 3.0000 | grad 6.0000"
    assert "var_1\n ()\nvalue 3.0000 | grad None" in source and "var_2\n ()\nvalue 4.0000 | grad None" in source
    assert "value 3.0000" in source and "value 4.0000" in source and "= -24" in source and "= -18" in source
    assert f'label="step {step} · line 11 · MulBackward0: grad in -6' in source  # the title
    assert "node backward() is running" in source and "node already run in this pass" in source  # the legend
    svg = tmp_path / "g.svg"  # the picture itself, not only its source, has the unnamed result's value
    assert main(["export", str(seed_recording()), "--step", str(step), "-o", str(svg)]) == 0
    assert ">value 3.0000 | grad 6.0000</text>" in svg.read_text()


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


INTERMEDIATES = """\
import torch

a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
c = torch.tensor(3.0, requires_grad=True)
loss = (a * b) * (b * c) + torch.exp(a - b)
loss.backward()
"""


def _node_labels(source: str) -> list[str]:
    """The last label of each function node, newlines as newlines."""
    labels: dict[str, str] = {}
    for name, quoted, bare in re.findall(r'^\t(fn\d+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\w+))', source, re.MULTILINE):
        labels[name] = quoted or bare
    return list(labels.values())


def test_unnamed_intermediates_carry_the_values_their_consumers_saved(tmp_path: Path) -> None:
    """GIVEN (a*b)*(b*c) + exp(a-b) WHEN the end of its backward pass is exported THEN each saved result shows.

    The outer product saved both inner products (two MulBackward0 inputs: `self` is the first, `other`
    the second, so a swap would pair 1.5 with grad 1.5); exp saved its own result.
    """
    script = tmp_path / "intermediates.py"
    script.write_text(INTERMEDIATES)
    recording = tmp_path / "i.gstep"
    assert main(["record", str(script), "-o", str(recording)]) == 0
    steps = load_recording(recording).steps
    last = [step.index for step in steps if step.node is not None][-1]
    dot = tmp_path / "i.dot"
    assert main(["export", str(recording), "--step", str(last), "-o", str(dot)]) == 0
    labels = _node_labels(dot.read_text())
    assert "MulBackward0\nvalue 1.0000 | grad 1.5000" in labels  # a * b
    assert "MulBackward0\nvalue 1.5000 | grad 1.0000" in labels  # b * c
    assert "ExpBackward0\nvalue 4.4817 | grad 1.0000" in labels  # exp(a - b): its own saved result
    assert "AddBackward0\nloss = 5.9817 | grad 1.0000" in labels
    # Nothing recorded the outer product or a - b: no invented value.
    assert "MulBackward0\ngrad 1.0000" in labels and "SubBackward0\ngrad 4.4817" in labels
