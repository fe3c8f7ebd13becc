"""Graphviz's limits: an image of a graph over 5,000 nodes is refused, and `dot` is stopped after GRADSTEP_DOT_SECONDS.

What a learner sees from `gradstep export`: one line on stderr, exit 2, and no file (nor half a file, nor a
temporary one) where the image would be; a good file already there stays as it was. The big graphs are
crafted recordings (tests/hostile.py): no script makes one. A fake `dot` on PATH stands in for a layout
that never ends, and for one that ends at once where only the refusal (or not) is in question.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile import BIG_GRAPH_BASE, BIG_GRAPH_STEP, big_graph_recording
from tui.render.graph_files import MAX_IMAGE_NODES

FAKE_SVG = "<svg>fake dot</svg>\n"


def gradstep(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=environment, check=False,
                          timeout=240)


def fake_dot(folder: Path, body: str) -> dict[str, str]:
    """A `dot` executable running `body` (sh), first on PATH: the environment to run gradstep with."""
    folder.mkdir(exist_ok=True)
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + body)
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def nothing_left_beside(output: Path) -> None:
    """No image, and no temporary file of one, in the output's folder."""
    assert not output.exists()
    assert [path.name for path in output.parent.iterdir() if path.name.startswith(f".{output.name}.")] == []


def export(recording: Path, output: Path, *extra: str, env: dict[str, str] | None = None):
    return gradstep("export", str(recording), "-o", str(output), "--step", str(BIG_GRAPH_STEP), *extra, env=env)


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
@pytest.mark.parametrize("name", ["MulBackward0", "Mul->Backward0"])  # a name holding `->` is a node all the same
def test_an_image_of_a_graph_over_5000_nodes_is_refused_in_one_line_and_nothing_is_written(tmp_path, fmt, name):
    recording = big_graph_recording(tmp_path / "big.gstep", MAX_IMAGE_NODES, name=name)  # + loss: 5,001 nodes
    # A `dot` that would draw anything at once: only the refusal stands between the graph and it.
    env = fake_dot(tmp_path / "bin", f"cat > /dev/null; printf '{FAKE_SVG}'\n")
    output = tmp_path / "out" / f"graph.{fmt}"
    output.parent.mkdir()
    result = export(recording, output, "--plain", env=env)
    assert result.returncode == 2
    assert one_error_line(result) == (
        "gradstep: error: the graph has 5,001 nodes, more than the 5,000 gradstep lays out as an image: "
        "export it as .dot instead"
    )
    nothing_left_beside(output)


def test_a_graph_of_5000_nodes_is_still_laid_out(tmp_path):
    recording = big_graph_recording(tmp_path / "big.gstep", MAX_IMAGE_NODES - 1)  # + loss: 5,000 nodes
    env = fake_dot(tmp_path / "bin", f"cat > /dev/null; printf '{FAKE_SVG}'\n")
    output = tmp_path / "graph.svg"
    result = export(recording, output, "--plain", env=env)
    assert result.returncode == 0, result.stderr
    assert output.read_text() == FAKE_SVG


def test_nodes_are_counted_once_however_often_the_drawing_restates_them(tmp_path):
    """1,500 links with a leaf each, all with values: 4,501 nodes (not the 6,000 statements that draw them)."""
    recording = big_graph_recording(tmp_path / "leaves.gstep", 1_500, leaves=True)
    env = fake_dot(tmp_path / "bin", f"cat > /dev/null; printf '{FAKE_SVG}'\n")
    output = tmp_path / "graph.svg"
    result = export(recording, output, "--plain", env=env)
    assert result.returncode == 0, result.stderr
    assert output.read_text() == FAKE_SVG
    # One more link's worth past the limit, and the count it names is the nodes drawn.
    recording = big_graph_recording(tmp_path / "more.gstep", 1_667, leaves=True)
    result = export(recording, tmp_path / "more.svg", "--plain", env=env)
    assert result.returncode == 2
    assert "the graph has 5,002 nodes" in one_error_line(result)


def test_the_dot_source_of_a_graph_over_5000_nodes_is_written_whole(tmp_path):
    recording = big_graph_recording(tmp_path / "big.gstep", MAX_IMAGE_NODES)
    output = tmp_path / "graph.dot"
    result = export(recording, output, "--plain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(output)
    source = output.read_text()
    assert source.startswith("digraph") and source.rstrip().endswith("}")
    declared = set(re.findall(r"^\s*(fn\d+) \[label=", source, flags=re.MULTILINE))
    assert len(declared) == MAX_IMAGE_NODES


@pytest.mark.parametrize("already_there", [False, True])
def test_a_dot_past_its_time_limit_is_stopped_with_one_line_and_leaves_no_file(tmp_path, already_there):
    pid_file = tmp_path / "dot.pid"
    env = fake_dot(tmp_path / "bin", f"echo $$ > {pid_file}\nexec sleep 120\n")
    output = tmp_path / "out" / "graph.svg"
    output.parent.mkdir()
    if already_there:
        output.write_text("<svg>the good one</svg>")
    result = export(BIG_GRAPH_BASE, output, env={**env, "GRADSTEP_DOT_SECONDS": "0.5"})
    assert result.returncode == 2
    assert one_error_line(result) == (
        "gradstep: error: Graphviz's dot did not lay out graph.svg (10 nodes) within 0.5 s: export it as .dot instead"
    )
    if already_there:
        assert output.read_text() == "<svg>the good one</svg>"
        output.unlink()
    nothing_left_beside(output)
    # The layout was ended, not left running.
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_the_real_dot_is_stopped_at_a_tiny_limit_on_a_large_graph(tmp_path):
    recording = big_graph_recording(tmp_path / "big.gstep", 4_000)
    output = tmp_path / "graph.png"
    result = export(recording, output, env={"GRADSTEP_DOT_SECONDS": "0.01"})
    assert result.returncode == 2
    assert re.fullmatch(
        r"gradstep: error: Graphviz's dot did not lay out graph\.png \(4,00\d nodes\) within 0\.01 s: "
        r"export it as \.dot instead",
        one_error_line(result),
    )
    nothing_left_beside(output)


@pytest.mark.parametrize("seconds", ["abc", "0", "-1", "nan", "inf", ""])
def test_a_time_limit_that_is_not_a_positive_number_is_refused_in_one_line(tmp_path, seconds):
    env = fake_dot(tmp_path / "bin", f"cat > /dev/null; printf '{FAKE_SVG}'\n")
    output = tmp_path / "graph.svg"
    result = export(BIG_GRAPH_BASE, output, env={**env, "GRADSTEP_DOT_SECONDS": seconds})
    assert result.returncode == 2
    assert one_error_line(result) == (
        f"gradstep: error: GRADSTEP_DOT_SECONDS must be a number of seconds above 0, not {seconds!r}"
    )
    nothing_left_beside(output)
