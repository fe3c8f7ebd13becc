"""A recording someone sent, or an input that is also the output: what the CLI shows and refuses.

The hostile recordings are real recordings (tests/hostile.py) with crafted strings, written by the real writer.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS
from tests.hostile import (
    CONTROLS,
    HOSTILE_SHOWN,
    hostile_recording,
    img_label_recording,
)

pytest.importorskip("torch")


def gradstep(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=240)


def assert_visible(output: str) -> None:
    assert not any(char in output for char in CONTROLS), "a raw control character reached the terminal"
    assert HOSTILE_SHOWN in output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_show_prints_escapes_and_markup_from_a_recording_as_visible_text():
    result = gradstep("show", str(hostile_recording()))
    assert result.returncode == 0, result.stderr
    assert_visible(result.stdout)
    # the source line, the exception and the stdout: each with its escapes shown
    assert "exploded" + HOSTILE_SHOWN in result.stdout and "ValueError" + HOSTILE_SHOWN in result.stdout


def test_show_timeline_prints_node_names_with_their_escapes_visible():
    result = gradstep("show", str(hostile_recording()), "--timeline")
    assert result.returncode == 0, result.stderr
    assert_visible(result.stdout)
    assert "SumBackward0" + HOSTILE_SHOWN in result.stdout


def test_diff_prints_devices_and_names_from_recordings_with_their_escapes_visible():
    from tests.engine.recorded import record_file

    plain = record_file(SCRIPTS / "raises.py", hostile_recording().with_name("plain.gstep"))
    result = gradstep("diff", str(hostile_recording()), str(plain))
    assert result.returncode in (0, 1), result.stderr
    assert_visible(result.stdout)
    assert "cpu" + HOSTILE_SHOWN in result.stdout  # the header's device


def test_show_of_a_step_with_10_mb_of_stdout_prints_its_tail_with_a_note(tmp_path):
    script = tmp_path / "loud.py"
    script.write_text("print('line 000000\\n' + ('x' * 99 + '\\n') * 100_000 + 'line 099999\\nthe last line')\n")
    recording = tmp_path / "loud.gstep"
    assert gradstep("record", str(script), "-o", str(recording)).returncode == 0
    result = gradstep("show", str(recording))
    assert result.returncode == 0, result.stderr
    assert "the last line" in result.stdout and "line 099999" in result.stdout
    assert "line 000000" not in result.stdout
    assert re.search(r"… [\d,]+ earlier characters of output left out \(--full prints all of it\)", result.stdout)
    assert len(result.stdout) < 100_000
    full = gradstep("show", str(recording), "--full")
    assert full.returncode == 0 and "line 000000" in full.stdout and "line 099999" in full.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_an_img_html_label_exports_as_text_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.png"
    recording = img_label_recording(str(secret))
    other = subprocess.run(["dot", "-Tpng"], input=b"digraph { other }", capture_output=True, check=True).stdout
    pictures = {}
    for fmt in ("svg", "png", "dot"):
        for name, content in (("seed", (Path(__file__).parents[1] / "assets" / "graph-seed-backward.png").read_bytes()),
                              ("other", other)):
            secret.write_bytes(content)
            output = tmp_path / f"graph-{name}.{fmt}"
            result = gradstep("export", str(recording), "-o", str(output), "--step", "10")
            assert result.returncode == 0, result.stderr
            pictures[fmt, name] = output.read_bytes()
        # Two different files behind the IMG path, the same export: the file was never read into it.
        assert pictures[fmt, "seed"] == pictures[fmt, "other"]
    svg = pictures["svg", "seed"].decode()
    assert "<image" not in svg and "&lt;IMG SRC=" in svg  # the name drawn as the text it is
    assert 'label=<' not in pictures["dot", "seed"].decode()  # a quoted label, never an HTML one


def test_dot_labels_read_back_as_the_recorded_names(tmp_path):
    """Quoting is exact: a name with quotes, backslashes and an HTML shape is drawn as typed."""
    from tests.hostile import write_swapped
    from tui.render.dotgraph import final_labels
    from tui.render.drawing import draw_graph
    from tui.steps.recording import load_recording

    name = 'a\\" b=\\\\"c" <<I>x</I>> \\N'
    recording = load_recording(write_swapped("seed_sgd.py", tmp_path / "q.gstep", {"MulBackward0": name}))
    step = next(step for step in recording.steps if step.graph is not None and "loss" in step.tensors)
    dot = draw_graph(step, "loss").dot
    assert any(label.startswith(name) for label in final_labels(dot.body).values())
    if shutil.which("dot"):
        plain = subprocess.run(["dot", "-Tcanon"], input=dot.source, capture_output=True, text=True, timeout=60)
        assert plain.returncode == 0, plain.stderr  # the quoting holds: dot parses it
        assert "label=<" not in plain.stdout


def test_record_onto_its_own_script_is_refused_and_the_script_is_unchanged(tmp_path):
    script = tmp_path / "train.py"
    shutil.copy(SCRIPTS / "seed_sgd.py", script)
    before = digest(script)
    result = gradstep("record", str(script), "-o", str(script))
    assert result.returncode == 2 and "is the script itself" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert digest(script) == before


def test_export_onto_its_input_is_refused_and_the_input_is_unchanged(tmp_path):
    recording = tmp_path / "run.gstep"
    shutil.copy(hostile_recording(), recording)
    before = digest(recording)
    result = gradstep("export", str(recording), "-o", str(recording), "--format", "dot")
    assert result.returncode == 2 and "would overwrite the input" in result.stderr
    assert digest(recording) == before
    script = tmp_path / "train.dot"  # a script named .dot: its .dot stand-in is itself too
    shutil.copy(SCRIPTS / "seed_sgd.py", script)
    before = digest(script)
    result = gradstep("export", str(script), "-o", str(script))
    assert result.returncode == 2 and digest(script) == before


def test_argparse_errors_are_one_line():
    result = gradstep("show")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gradstep show: error: the following arguments are required: FILE.gstep (see `gradstep show --help`)"
    ]


def test_a_script_with_a_bom_or_a_coding_line_records_as_python_runs_it(tmp_path):
    bom = tmp_path / "bom.py"
    bom.write_bytes(b'\xef\xbb\xbfprint("bom ok")\n')
    latin = tmp_path / "latin.py"
    latin.write_bytes(b'# -*- coding: latin-1 -*-\nprint(len("\xe9"))\n')
    for script, printed in ((bom, "bom ok"), (latin, "1")):
        recording = tmp_path / f"{script.stem}.gstep"
        result = gradstep("record", str(script), "-o", str(recording))
        assert result.returncode == 0, result.stderr
        assert gradstep("show", str(recording)).stdout.rstrip().endswith(printed)


def test_null_bytes_name_their_line_and_a_directory_says_it_is_one(tmp_path):
    script = tmp_path / "nul.py"
    script.write_bytes(b"x = 1\x00\n")
    result = gradstep("record", str(script), "-o", str(tmp_path / "nul.gstep"))
    assert result.returncode == 2 and "SyntaxError at line 1:" in result.stderr and "None" not in result.stderr
    result = gradstep("record", str(tmp_path), "-o", str(tmp_path / "dir.gstep"))
    assert result.returncode == 2 and "is a directory, not a script" in result.stderr


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("import os\nx = 1\nprint('before')\nos._exit(3)\n", "OsExit: the script called os._exit(3)"),
        ("def f(n):\n    return f(n + 1)\nx = 1\nprint('before')\nf(0)\n", "RecursionError"),
    ],
    ids=["os._exit", "RecursionError"],
)
def test_the_scripts_own_exit_ends_the_recording_with_a_step_saying_so_and_exit_1(tmp_path, body, said):
    script = tmp_path / "exits.py"
    script.write_text(body)
    recording = tmp_path / "exits.gstep"
    result = gradstep("record", str(script), "-o", str(recording))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    shown = gradstep("show", str(recording))
    assert shown.returncode == 0 and "exception" in shown.stdout and said in shown.stdout
    assert "before" in shown.stdout  # everything up to it is in the recording
