"""The engine's child process, through ChildSession: steps over the pipe, deaths, pause, kill, devices."""

from __future__ import annotations

import json
import sys
import statistics
import time
from pathlib import Path

import pytest

from tui.engine.client import ChildSession, list_devices
from tui.errors import BadInput
from tui.steps.lines import StepDecoder, StepEncoder

pytest.importorskip("torch")


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the child did not get there in time")
        time.sleep(0.005)


def start(path: Path, **options):
    steps: list = []
    results: list = []
    session = ChildSession(path, on_step=steps.append, on_done=results.append, **options)
    wait_for(lambda: steps)
    return session, steps, results


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_seed_example_runs_to_its_end_in_the_child(script):
    session, steps, results = start(script("seed_sgd.py"))
    assert session.header.torch and session.header.script.endswith("seed_sgd.py")
    assert steps[0].line == 2
    for _ in range(3):
        count = len(steps)
        session.step_into()
        wait_for(lambda: len(steps) > count)
    session.resume()
    result = session.wait(30)
    assert result is not None and result.status == "finished", result
    assert steps[-1].kind == "end"
    assert [step.index for step in steps] == list(range(len(steps)))
    assert "tensor(3.4505, requires_grad=True)" in "".join(step.output for step in steps)
    wait_for(lambda: session.process.poll() is not None, 5)


def test_a_segfault_mid_loop_is_reported_with_its_signal_and_the_steps_kept(tmp_path):
    path = write(tmp_path, "crash.py", "import os, signal\nx = 0\nfor i in range(5):\n    x = x + i\n"
                 "    if i == 2:\n        os.kill(os.getpid(), signal.SIGSEGV)\n")
    session, steps, results = start(path)
    for _ in range(6):
        count = len(steps)
        session.step_over()
        wait_for(lambda: len(steps) > count)
    session.resume()
    result = session.wait(30)
    assert result is not None and result.status == "died"
    assert result.exception.type == "SIGSEGV" and "SIGSEGV" in result.exception.message
    assert len(steps) >= 7 and results == [result]  # the steps continue streamed before the crash may add more


def test_os_exit_is_reported_with_its_exit_code(tmp_path):
    path = write(tmp_path, "leaves.py", "import os\nx = 1\nos._exit(0)\n")
    session, steps, results = start(path)
    session.resume()
    result = session.wait(30)
    assert result is not None and result.status == "died" and result.returncode == 0
    assert "exit code 0" in result.exception.message


def test_sys_exit_ends_the_run_as_the_engine_reports_it(tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nx = 1\nsys.exit(3)\n")
    session, steps, results = start(path)
    session.resume()
    result = session.wait(30)
    assert result is not None and result.status != "died", result


def test_a_syntax_error_or_missing_device_fails_to_start_with_one_line(tmp_path):
    path = write(tmp_path, "broken.py", "x = (\n")
    with pytest.raises(BadInput, match="SyntaxError at line"):
        ChildSession(path, on_step=lambda step: None)
    with pytest.raises(BadInput, match="mps"):
        ChildSession(write(tmp_path, "ok.py", "x = 1\n"), on_step=lambda step: None, device="mps")


def test_while_true_pauses_within_200_ms_through_the_pipe(tmp_path):
    # The median of five pauses: one slow pause on a loaded two-core machine is the neighbours,
    # a slow median is the engine.
    path = write(tmp_path, "spin.py", "x = 0\nwhile True:\n    x = x + 1\n")
    session, steps, results = start(path)
    took = []
    try:
        for _ in range(5):
            session.resume()  # no breakpoints: native speed
            time.sleep(0.2)
            count = len(steps)
            started = time.perf_counter()
            session.pause()
            wait_for(lambda: len(steps) > count, 5)
            took.append(time.perf_counter() - started)
            assert steps[-1].line in (2, 3)
    finally:
        session.stop()
    assert session.wait(5) is not None
    assert statistics.median(took) < 0.2, f"pauses took {[round(t * 1000) for t in took]} ms"


def test_a_child_stuck_in_native_code_is_killed_after_the_grace(tmp_path):
    # sum() over a huge range runs in C and never lets the child's command reader in.
    path = write(tmp_path, "stuck.py", "x = 1\ny = sum(range(10 ** 13))\n")
    session, steps, results = start(path)
    session.step_over()
    wait_for(lambda: len(steps) == 2)  # at line 2: the next step runs the sum
    session.step_over()
    time.sleep(0.3)
    started = time.perf_counter()
    session.stop()  # returns at once
    assert time.perf_counter() - started < 0.1
    result = session.wait(10)
    assert result is not None and result.status == "died" and result.exception.type == "SIGKILL", result
    assert time.perf_counter() - started < 5


def test_the_child_keeps_the_script_s_cwd_path_and_argv_to_itself(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = write(tmp_path, "moves.py", f"import os, sys\nos.chdir({str(elsewhere)!r})\nsys.path.insert(0, 'x')\n"
                 "sys.argv.append('y')\nprint(os.getcwd())\n")
    before = (os.getcwd(), list(sys.path), list(sys.argv))
    session, steps, results = start(path)
    session.resume()
    assert session.wait(30).status == "finished"
    assert str(elsewhere) in "".join(step.output for step in steps)
    assert (os.getcwd(), list(sys.path), list(sys.argv)) == before


def test_devices_are_listed_by_a_child():
    devices = list_devices()
    assert devices[0]["name"] == "cpu" and devices[0]["available"] is True
    assert {"name", "available", "reason", "details"} <= set(devices[1])


@pytest.mark.parametrize("name", ["seed_sgd.py", "optimizers.py"])
def test_the_pipe_s_lines_decode_to_the_steps_the_engine_made(script, name):
    """The encoder/decoder pair round-trips a recorded run (what the pipe and the file both carry), through
    JSON text; optimizers.py steps SGD with momentum, Adam, AdamW and RMSprop, whose updates name their state."""
    from tui.engine.session import Session
    from tui.steps.lines import dumps

    made: list = []
    Session(script(name), on_step=made.append, mode="record").run()
    encoder, decoder = StepEncoder(), StepDecoder()
    lines = [dumps(record) for original in made for record in encoder.encode(original)]
    decoded = [step for line in lines if (step := decoder.decode(json.loads(line))) is not None]
    assert decoded == made
    if name == "optimizers.py":
        assert sum('"was":' in line for line in lines) > 20 and sum('"named":' in line for line in lines) > 20
