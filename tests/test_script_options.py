"""Script arguments reach sys.argv as `python SCRIPT ARGS` gives them; bad --break / --max-steps exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import assert_one_line_error, gradstep

ARGV_SCRIPT = """\
import sys
import torch

epochs = torch.tensor(float(len(sys.argv) - 1))
print(sys.argv[1:])
"""

COMMENTED = """\
import torch

# a comment on line 3
x = torch.tensor(2.0, requires_grad=True)
y = (x *
     x)

y.backward()
"""

ARGS = ["--epochs", "3", "-v", "two words", ""]


def _printed(recording: Path) -> str:
    shown = gradstep("show", str(recording), "--last", "--json")
    assert shown.returncode == 0, shown.stderr
    return str(json.loads(shown.stdout)["stdout"])


def test_record_passes_everything_after_dash_dash_to_the_script_as_python_would(tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text(ARGV_SCRIPT)
    plain = subprocess.run([sys.executable, str(script), *ARGS], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    recording = tmp_path / "args.gstep"
    done = gradstep("record", str(script), "-o", str(recording), "--", *ARGS)
    assert done.returncode == 0, done.stderr
    assert _printed(recording) == plain.stdout == repr(ARGS) + "\n"


def test_words_after_the_script_are_its_arguments_wherever_gradsteps_options_are(tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text(ARGV_SCRIPT)
    recording = tmp_path / "words.gstep"
    done = gradstep("record", str(script), "3", "-o", str(recording), "--max-steps", "50", "4", "--", "-x")
    assert done.returncode == 0, done.stderr
    assert _printed(recording) == "['3', '4', '-x']\n"


def test_an_unknown_option_before_dash_dash_is_refused_with_a_hint(tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text(ARGV_SCRIPT)
    done = gradstep("record", str(script), "-o", str(tmp_path / "r.gstep"), "--epochs", "3")
    assert done.returncode == 2
    assert "--epochs" in done.stderr and "after `--`" in done.stderr
    assert not (tmp_path / "r.gstep").exists()


def test_the_app_child_gets_the_script_arguments(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tui.engine.client import ChildSession

    script = tmp_path / "args.py"
    script.write_text(ARGV_SCRIPT)
    steps: list = []
    results: list = []
    session = ChildSession(script, on_step=steps.append, on_done=results.append, argv=ARGS)
    try:
        deadline = time.monotonic() + 60
        while not steps and time.monotonic() < deadline:
            time.sleep(0.01)
        session.resume()
        assert session.wait(60) is not None
    finally:
        session.stop()
    assert results[0].status == "finished"
    assert "".join(step.output for step in steps) == repr(ARGS) + "\n"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (3, "--break 3: line 3 has no code (a comment)"),
        (2, "--break 2: line 2 has no code (blank)"),
        (6, "--break 6: line 6 is inside the statement that starts on line 5"),
        (40, "--break 40: the script has lines 1 to 8"),
        (0, "--break 0: the script has lines 1 to 8"),
    ],
)
@pytest.mark.parametrize("command", ["record", "export", "run"])
def test_a_break_on_a_line_that_cannot_stop_exits_2_naming_it(tmp_path: Path, command, line, fragment) -> None:
    script = tmp_path / "commented.py"
    script.write_text(COMMENTED)
    output = tmp_path / ("out.gstep" if command == "record" else "out.dot")
    options = [] if command == "run" else ["-o", str(output)]
    done = gradstep(command, str(script), *options, "--break", str(line))
    assert_one_line_error(done, 2, fragment)
    assert not output.exists()


def test_a_break_on_a_statement_is_accepted(tmp_path: Path) -> None:
    script = tmp_path / "commented.py"
    script.write_text(COMMENTED)
    recording = tmp_path / "ok.gstep"
    done = gradstep("record", str(script), "-o", str(recording), "--breaks-only", "--break", "8")
    assert done.returncode == 0, done.stderr
    assert "2 steps" in done.stdout  # the breakpoint and the end


@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("command", ["record", "run", "export"])
def test_max_steps_below_one_exits_2(tmp_path: Path, command, value) -> None:
    script = tmp_path / "commented.py"
    script.write_text(COMMENTED)
    options = [] if command == "run" else ["-o", str(tmp_path / "out.gstep")]
    done = gradstep(command, str(script), *options, "--max-steps", value)
    assert done.returncode == 2
    assert f"--max-steps: must be at least 1, got {value}" in done.stderr
    assert "Traceback" not in done.stderr
