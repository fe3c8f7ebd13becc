"""Loop iterations for any body size: a body past 255 code units jumps back through EXTENDED_ARG."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.engine.drive import record, write

ITERATIONS = 4
BODY_LINES = 300


def long_body_script(loop: str = "for") -> str:
    """A tutorial-shaped training loop whose body is 300 lines (each its own statement)."""
    padding = "\n".join(f"    h{index} = h{index - 1} * 1.0" if index else "    h0 = y_pred.detach()"
                        for index in range(BODY_LINES - 6))
    header = "for t in range(4):" if loop == "for" else "t = 0\nwhile t < 4:"
    tick = "\n    t += 1" if loop == "while" else ""
    return (
        "import torch\n"
        "torch.manual_seed(0)\n"
        "x = torch.randn(8, 3)\n"
        "y = torch.randn(8, 1)\n"
        "w = torch.randn(3, 1, requires_grad=True)\n"
        f"{header}\n"
        "    y_pred = x @ w\n"
        "    loss = (y_pred - y).pow(2).sum()\n"
        "    loss.backward()\n"
        f"{padding}\n"
        "    with torch.no_grad():\n"
        "        w -= 1e-3 * w.grad\n"
        f"        w.grad = None{tick}\n"
        "done = True\n"
    )


@pytest.mark.parametrize("loop", ["for", "while"])
def test_a_300_line_loop_body_numbers_its_iterations_1_to_n(tmp_path, loop):
    script = write(tmp_path, "long_body.py", long_body_script(loop))
    steps, result = record(script)
    assert result.status == "finished"
    header = next(step.loop_line for step in steps if step.loop_line is not None)
    in_loop = [step for step in steps if step.loop_line == header]
    headers = [step.iteration for step in in_loop if step.kind == "line" and step.line == header]
    # Entering (1), then each header after iteration k belongs to iteration k.
    assert headers == [1, *range(1, ITERATIONS + 1)]
    iterations = [step.iteration for step in in_loop]
    assert iterations == sorted(iterations), "iterations go back somewhere"  # `]` never bounces back
    assert sorted(set(iterations)) == list(range(1, ITERATIONS + 1))
    last_body_line = max(step.line for step in in_loop if step.line is not None)
    assert last_body_line - header >= BODY_LINES - 1
    body_ends = [step.iteration for step in in_loop if step.line == last_body_line and step.kind == "line"]
    assert body_ends == list(range(1, ITERATIONS + 1))


HARNESS = """
import ast, sys
from tui.engine.loops import LoopTable, LoopCounters, instrument, FOR_NAME, WHILE_NAME
body = "\\n".join(f"    x{i} = i * {i}" for i in range(int(sys.argv[1])))
source = f"i = 0\\nfor i in range(3):\\n{body}\\nwhile i < 6:\\n{body}\\n    i += 1\\n"
tree = ast.parse(source)
code = compile(instrument(tree), "loops.py", "exec")
counters = LoopCounters(LoopTable(tree), "loops.py")
headers = {2, int(sys.argv[1]) + 3}
seen = []
def trace(frame, event, arg):
    if frame.f_code.co_filename != "loops.py":
        return None
    if event == "line" and frame.f_lineno in headers:
        seen.append(counters.position(frame)[1])
    return trace
sys.settrace(trace)
exec(code, {FOR_NAME: counters.start_for, WHILE_NAME: counters.tick_while})
sys.settrace(None)
print(seen)
"""


def _other_pythons() -> list[str]:
    """This Python and the pyenv ones CI also uses (loops.py is standard library only)."""
    found = [sys.executable]
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in ("3.10", "3.12", "3.13"):
        candidates = sorted(root.glob(f"{version}.*/bin/python{version}"))
        if candidates:
            found.append(str(candidates[-1]))
    return found


@pytest.mark.parametrize("python", _other_pythons())
@pytest.mark.parametrize("body", [3, 300, 3_000])  # 300 and 3,000 lines: FOR_ITER behind an EXTENDED_ARG
def test_header_iterations_are_right_for_any_body_size_on_each_python(python, body):
    done = subprocess.run(
        [python, "-c", textwrap.dedent(HARNESS), str(body)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    # for: entering, then after iterations 1, 2, 3; while (i from 2 to 6): entering, then after each of 4.
    assert done.stdout.split() == ["[1,", "1,", "2,", "3,", "1,", "1,", "2,", "3,", "4]"]
