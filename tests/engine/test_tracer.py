"""The tracer: stepping through the script's own lines only, controls, breakpoints, pause, stop and limits."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.engine.drive import Driver, grads, printed, record, write
from tests.engine.test_loops import _other_pythons
from tui.engine.session import Session
from tui.errors import BadInput, ScriptCompileError


def test_step_into_a_forward_called_by_torch_then_over_and_out(script):
    driver = Driver(script("mlp_3_2_5.py"), breakpoints=[27])
    try:
        assert (driver.first.line, driver.first.kind) == (2, "line")
        at_call = driver.resume()
        assert (at_call.line, at_call.loop_line, at_call.iteration) == (27, 26, 1)
        inside = driver.send("step_into")  # through nn.Module.__call__, straight to the script's forward()
        assert (inside.line, inside.function, inside.depth, inside.loop_line) == (16, "forward", 1, 26)
        assert "self.m1.weight" in inside.tensors and "x" in inside.tensors
        assert driver.send("step_over").line == 17
        back = driver.send("step_out")  # torch's __call__ in between is not a place to stop
        assert (back.line, back.function, back.depth, back.iteration) == (28, "<module>", 0, 1)
        assert "my_network_output" in back.tensors
    finally:
        driver.close()


def test_step_into_walks_backward_node_by_node_and_step_over_skips_it(script):
    driver = Driver(script("seed_sgd.py"))
    try:
        step = driver.first
        while step.line != 11:
            step = driver.send("step_over")
        names = []
        step = driver.send("step_into")
        while step.kind != "line":
            names.append(step.node.name)
            step = driver.send("step_into")
        assert names == ["PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
        assert step.line == 12 and grads(step, "var_1") == -24.0
        optimizer = driver.send("step_into")
        assert optimizer.kind == "optimizer" and optimizer.update.param == "var_1"
        after = driver.send("step_over")  # out of optimizer.step(): var_2's update runs unseen
        assert after.line == 13 and round(after.tensors["var_2"].value, 4) == 4.054
        while step.line != 18:
            step = driver.send("step_over")
        assert step.iteration == 1
        over = driver.send("step_over")
        assert over.kind == "line" and over.line == 19 and grads(over, "var_1") is not None
    finally:
        driver.close()


def test_breakpoints_resume_and_the_end(script):
    driver = Driver(script("seed_sgd.py"), breakpoints=[19])
    try:
        hits = [driver.resume() for _ in range(2)]
        assert [(step.line, step.iteration) for step in hits] == [(19, 1), (19, 2)]
        driver.session.set_breakpoints([])
        untraced = driver.send("resume")
        assert untraced.kind == "untraced"
        assert untraced.message.startswith("ran untraced: from line 19 to the end of the script, iterations 2–100 (loop at line 15).")
        assert "tensor(3.4505" in untraced.output  # what the script printed meanwhile is kept
        end = driver.next_step()
        assert end.kind == "end"
        result = driver.session.wait(30)
        assert result is not None and result.status == "finished" and result.steps == end.index + 1
    finally:
        driver.close()


FOREVER = """import torch
x = torch.tensor(1.0)
n = 0
while True:
    n += 1
"""

SPIN_IN_FUNCTION = """def spin():
    turns = 0
    while True:
        turns += 1

spin()
"""


def test_pause_stops_a_script_stuck_in_while_true_within_100_ms(tmp_path):
    driver = Driver(write(tmp_path, "forever.py", FOREVER))
    try:
        driver.session.resume()
        time.sleep(0.3)
        paused, seconds = driver.timed_pause()
        print(f"pause latency: {seconds * 1000:.1f} ms")
        assert paused.line in (4, 5) and paused.loop_line == 4 and paused.iteration > 1
        assert seconds < 0.5  # 100 ms asked; generous on a busy machine, the printed figure is the real one
        assert paused.scalars["n"] >= paused.iteration - 1
        assert driver.send("step_over").line in (4, 5)  # and it steps on from there
    finally:
        result = driver.close()
    assert result is not None and result.status == "stopped"


def test_pause_and_stop_inside_a_function_stepped_over(tmp_path):
    driver = Driver(write(tmp_path, "spin.py", SPIN_IN_FUNCTION))
    try:
        call = driver.send("step_over")
        assert call.line == 6
        driver.session.step_over()  # runs spin() forever
        assert driver.no_step_within(0.2)
        paused, seconds = driver.timed_pause()
        assert paused.function == "spin" and paused.line in (3, 4) and seconds < 0.5
        driver.session.resume()
        driver.close()
        stopped = driver.next_step()
        if stopped.kind == "untraced":  # the stop came after the resume was obeyed
            stopped = driver.next_step()
        assert stopped.kind == "end" and "stopped" in stopped.message
    finally:
        driver.close()


def test_the_step_cap_ends_the_run_with_an_explicit_limit_step(script):
    steps, result = record(script("seed_sgd.py"), max_steps=10)
    assert result.status == "limit" and len(steps) == 11
    assert steps[-1].kind == "limit" and "10" in steps[-1].message
    assert [step.index for step in steps] == list(range(11))


PRINTS = """import sys
print("hello")
print("to stderr", file=sys.stderr)
x = 1
"""


def test_the_script_output_is_captured_per_step_and_never_reaches_the_terminal(tmp_path, capfd):
    steps, _ = record(write(tmp_path, "prints.py", PRINTS))
    outputs = [(step.line, step.output) for step in steps if step.output]
    assert outputs == [(3, "hello\n"), (4, "to stderr\n")]
    captured = capfd.readouterr()
    assert "hello" not in captured.out and "to stderr" not in captured.err


MAIN = """import sys, pathlib
here = pathlib.Path(__file__).parent
facts = [__name__, sys.argv == [ARGV], sys.path[0] == str(here), (here / "helper.py").exists()]
import helper
print(facts, helper.VALUE)
"""


def test_the_script_runs_as_main_with_its_file_argv_and_folder_on_the_path(tmp_path):
    write(tmp_path, "helper.py", "VALUE = 42\n")
    path = tmp_path / "main_script.py"
    write(tmp_path, "main_script.py", MAIN.replace("ARGV", repr(str(path))))
    saved = (list(sys.argv), list(sys.path), sys.modules["__main__"])
    steps, result = record(path)
    assert result.status == "finished"
    assert steps[-1].output == "['__main__', True, True, True] 42\n"
    assert (sys.argv, sys.path, sys.modules["__main__"]) == saved


def test_a_script_that_does_not_compile_or_does_not_exist_is_bad_input(script, tmp_path):
    with pytest.raises(ScriptCompileError) as error:
        Session(script("syntax_error.py"), on_step=print)
    assert str(error.value).startswith("SyntaxError at line 3: ")
    missing = tmp_path / "missing.py"
    with pytest.raises(BadInput) as error:
        Session(missing, on_step=print)
    assert str(error.value) == f"no such script: {missing}"


def test_the_header_describes_the_run(script):
    path = script("seed_sgd.py")
    header = Session(path, on_step=print, mode="record").header
    assert header.script == str(path.resolve()) and header.source == path.read_text()
    assert header.device == "cpu" and header.torch and header.python and header.created.endswith("+00:00")


def test_importing_the_engine_leaves_textual_out():
    code = "import sys, tui.engine.session; print('textual' in sys.modules)"
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "False"


def test_stop_during_a_backward_sub_step_ends_the_run(script):
    driver = Driver(script("seed_sgd.py"))
    step = driver.first
    while step.line != 11:
        step = driver.send("step_over")
    assert driver.send("step_into").node.name == "PowBackward0"
    result = driver.close()
    assert result is not None and result.status == "stopped"
    last = driver.next_step()
    assert last.kind == "end" and last.line is None


def test_a_failing_on_step_is_raised_to_the_caller_not_recorded_as_the_scripts(script):
    class DiskFull(Exception):
        pass

    def on_step(step):
        if step.index == 3:
            raise DiskFull("no space left")

    session = Session(script("seed_sgd.py"), on_step=on_step, mode="record")
    with pytest.raises(DiskFull):
        session.run()
    result = session.wait(1)
    assert result is not None and result.status == "failed"
    assert result.exception is not None and result.exception.type == "DiskFull"


def test_a_failure_making_a_step_inside_optimizer_step_is_gradsteps_not_the_scripts(script, monkeypatch):
    """A bug in making a sub-step (inside the script's own optimizer.step() call) ends the run as gradstep's
    failure: it is not raised into the script, which could catch it, nor recorded as the script's exception."""
    from tui.engine.stepmaker import StepMaker

    real = StepMaker.make

    def make(self, index, event, *args, **kwargs):
        if event.kind == "optimizer":
            raise KeyError("a name the step maker lost")
        return real(self, index, event, *args, **kwargs)

    monkeypatch.setattr(StepMaker, "make", make)
    steps = []
    session = Session(script("seed_sgd.py"), on_step=steps.append, mode="record")
    with pytest.raises(KeyError):
        session.run()
    result = session.wait(1)
    assert result is not None and result.status == "failed" and result.exception.type == "KeyError"
    assert result.exception.message.startswith("gradstep could not go on: ")
    assert not any(step.kind == "exception" for step in steps)


def test_an_engine_failure_in_the_worker_thread_ends_the_run_through_on_done(script):
    # The app runs the session in a thread: a failure there must reach it, not print a traceback.
    def on_step(step):
        if step.index == 3:
            raise RuntimeError("the engine tripped")

    finished = []
    session = Session(script("seed_sgd.py"), on_step=on_step, on_done=finished.append, mode="record")
    session.start()
    result = session.wait(30)
    assert result is not None and result.status == "failed"
    assert finished == [result]
    assert "the engine tripped" in result.exception.message


# A function of another file gets an object and keeps it in a local; the script drops its own name
# for it on the same line, so no traced line comes between the call's return and the check (as in
# autograd, which calls a hook from C and then looks at whether the gradient is still shared).
LETS_GO = '''import sys, weakref
sys.path.insert(0, sys.argv[1])
from tui.engine.tracer import Tracer
library = {}
exec(compile("class Box:\\n    pass\\ndef hold(value):\\n    kept = value\\n", "/elsewhere/library.py", "exec"), library)
script = sys.argv[2]
source = "box = Box()\\nprobe = weakref.ref(box)\\nhold(box); del box; freed = probe() is None\\nend = True\\n"
lines = []
namespace = {"weakref": weakref, "Box": library["Box"], "hold": library["hold"]}
Tracer(script, lambda frame: lines.append(frame.f_lineno)).run_code(compile(source, script, "exec"), namespace)
print(lines, "freed" if namespace["freed"] else "kept alive")
'''


@pytest.mark.parametrize("python", _other_pythons())
def test_the_tracer_keeps_no_frame_alive_after_its_event_on_each_python(python, tmp_path):
    done = subprocess.run(
        [python, "-c", LETS_GO, str(REPO), str(tmp_path / "script.py")],
        check=False, capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 2, 3, 4] freed"  # a frame kept by bdb 3.13 would hold the Box


def test_an_import_of_what_is_loaded_already_keeps_the_trace_and_a_new_one_runs_untraced(tmp_path: Path) -> None:
    """torch imports inside its functions at every hook and optimizer step: those only look up a loaded
    module, so the trace function stays; a module or submodule not loaded yet is still imported untraced."""
    from tui.engine.tracer import _imported

    assert _imported("os", ("path",), 0)
    assert not _imported("os", ("*",), 0)  # a star import reads the module's names: the full path
    assert not _imported("xml.dom", ("no_such_submodule",), 0)
    assert not _imported("sibling", (), 1)
    script = write(
        tmp_path,
        "imports.py",
        "for _ in range(2):\n"
        "    import json\n"
        "    from xml.dom import minidom\n"
        "    from os import path as p\n"
        "    text = json.dumps([1]) + minidom.__name__ + p.sep\n"
        "print(text)\n",
    )
    steps, result = record(script)
    assert result.status == "finished"
    assert "[1]xml.dom.minidom/" in printed(steps)
    assert [step.line for step in steps if step.kind == "line"].count(5) == 2
