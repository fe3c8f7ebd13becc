"""Watches, conditional breakpoints and the break-on rules, on the real engine (tui.engine.evaluate)."""

from __future__ import annotations

import pytest

from tests.engine.drive import Driver
from tui.cli import main
from tui.steps.inspect import InspectOptions
from tui.steps.recording import load_recording

torch = pytest.importorskip("torch")


def first_iteration_below(limit: float) -> int:
    """Plain PyTorch, no gradstep: the 1-based iteration of the seed loop where the loss is first < limit."""
    var_1 = torch.tensor(3.0, requires_grad=True)
    var_2 = torch.tensor(4.0, requires_grad=True)
    my_sgd = torch.optim.SGD([var_1, var_2], lr=3e-3)
    for iteration in range(1, 101):
        loss = (15 - var_1 * var_2) ** 2
        if loss < limit:
            return iteration
        loss.backward()
        my_sgd.step()
        my_sgd.zero_grad()
    raise AssertionError("the loss never went below the limit")


def test_a_conditional_breakpoint_stops_at_the_first_iteration_where_it_holds(script):
    expected = first_iteration_below(1.0)
    assert expected > 1  # the condition is false at first: a plain breakpoint would stop earlier
    driver = Driver(script("seed_loop.py"), breakpoints=[11], inspect=InspectOptions(conditions=((11, "loss<1"),)))
    stop = driver.resume()
    assert (stop.line, stop.iteration) == (11, expected)
    assert stop.message == "breakpoint at line 11: `loss<1` is true"
    assert stop.tensors["loss"].value < 1.0
    driver.close()


def test_breaks_only_record_keeps_only_the_steps_where_the_condition_holds(script, tmp_path):
    output = tmp_path / "cond.gstep"
    code = main(["record", str(script("seed_loop.py")), "-o", str(output), "--breaks-only", "--break", "11:loss<1"])
    assert code == 0
    steps = load_recording(output).steps
    stops = [step for step in steps if step.kind == "line"]
    first = first_iteration_below(1.0)
    assert stops[0].iteration == first and stops[0].line == 11
    assert all(step.tensors["loss"].value < 1.0 for step in stops)
    assert len(stops) == 100 - first + 1


def test_a_raising_condition_stops_there_and_says_why(script):
    driver = Driver(script("seed_loop.py"), breakpoints=[11], inspect=InspectOptions(conditions=((11, "no_such > 1"),)))
    stop = driver.resume()
    assert (stop.line, stop.iteration) == (11, 1)
    assert "`no_such > 1` raised NameError: name 'no_such' is not defined; stopped here" in stop.message
    driver.close()


def test_a_watch_is_recorded_saved_and_shown_by_show_json(script, tmp_path, capsys):
    output = tmp_path / "watched.gstep"
    assert main(["record", str(script("seed_sgd.py")), "-o", str(output), "--watch", "var_1.grad"]) == 0
    steps = load_recording(output).steps
    first_accumulate = next(step for step in steps if step.kind == "accumulate" and step.node.leaf == "var_1")
    watch = first_accumulate.watches[0]
    assert (watch.expr, watch.kind, watch.tensor.value) == ("var_1.grad", "tensor", -24.0)
    assert steps[0].watches[0].text == "NameError: name 'var_1' is not defined"  # before its line ran
    before = steps[first_accumulate.index - 1].watches[0]
    assert (before.kind, before.text) == ("value", "None")  # no .grad yet
    import json

    capsys.readouterr()
    assert main(["show", str(output), "--step", str(first_accumulate.index), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["watches"][0]["expr"] == "var_1.grad"
    assert shown["watches"][0]["tensor"]["value"] == -24.0
    assert main(["show", str(output), "--step", str(first_accumulate.index)]) == 0
    assert "var_1.grad = -24.0000" in capsys.readouterr().out


def test_a_recording_without_watches_has_no_watches_key():
    import gzip
    import json

    from tests.engine.recorded import seed_recording

    with gzip.open(seed_recording(), "rt") as lines:
        records = [json.loads(line) for line in lines]
    assert len(records) > 100  # the recording's lines, read back
    assert '"watches"' not in json.dumps(records)


@pytest.mark.parametrize("bad", ["--break=x:1", "--break=11:", "--break=11:loss <", "--watch=1 +", "--break-on=grad"])
def test_bad_inspect_options_are_one_line_and_exit_2(script, tmp_path, capsys, bad):
    code = main(["record", str(script("seed_loop.py")), "-o", str(tmp_path / "x.gstep"), bad])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("gradstep: error: ")


def break_on(*rules: str) -> InspectOptions:
    from tui.steps.inspect import parse_break_on

    return InspectOptions(break_on=tuple(parse_break_on(rule) for rule in rules))


def stop_after_resume(driver: Driver):
    step = driver.send("resume")
    return driver.next_step() if step.kind == "untraced" else step


def test_break_on_nan_stops_at_the_forward_line_whose_log_made_the_inf(script):
    lines = script("log_nan.py").read_text().splitlines()
    log_line = next(number for number, text in enumerate(lines, 1) if "= torch.log(" in text)
    driver = Driver(script("log_nan.py"), inspect=break_on("nan"))
    stop = stop_after_resume(driver)
    assert (stop.kind, stop.line) == ("line", log_line)
    assert stop.message == f"break on nan: `log` at line {log_line} is the first operation that produced an Inf"
    assert "loss" not in stop.tensors  # stopped inside the line, before the loss exists
    driver.close()


def test_break_on_nan_in_a_breaks_only_run_keeps_that_step(script, tmp_path):
    output = tmp_path / "nan.gstep"
    assert main(["record", str(script("log_nan.py")), "-o", str(output), "--breaks-only", "--break-on", "nan"]) == 0
    steps = load_recording(output).steps
    assert [step.kind for step in steps] == ["line", "end"]
    assert "`log` at line 7" in steps[0].message


def test_break_on_grad_stops_at_each_accumulate_and_reset_of_var_1(script):
    driver = Driver(script("seed_sgd.py"), inspect=break_on("grad:var_1"))
    stops = [stop_after_resume(driver) for _ in range(5)]
    driver.close()
    # seed_sgd.py: backward at 11 (then 12), zero_grad at 13 (then 15), in the loop backward at 18, zero_grad at 20
    assert [(stop.line, stop.iteration) for stop in stops] == [(12, None), (15, 1), (19, 1), (15, 1), (19, 2)]
    assert "var_1.grad accumulated: now -24.0000 (it was None)" in stops[0].message
    assert "var_1.grad was set to None (a reset)" in stops[1].message
    assert stops[0].tensors["var_1"].grad == -24.0
    assert not stops[1].tensors["var_1"].has_grad


def test_break_on_node_stops_at_the_node_of_that_class_in_the_backward_pass(script):
    driver = Driver(script("seed_sgd.py"), inspect=break_on("node:MulBackward0"))
    stop = stop_after_resume(driver)
    driver.close()
    assert (stop.kind, stop.line, stop.node.name) == ("backward", 11, "MulBackward0")
    assert stop.message == "break on node: MulBackward0 ran (the backward pass of line 11)"


def test_break_on_grad_norm_stops_where_a_grad_first_exceeds_it(script):
    driver = Driver(script("seed_sgd.py"), inspect=break_on("grad-norm>20"))
    stop = stop_after_resume(driver)
    driver.close()
    assert stop.line == 12
    assert "the grad norm of var_1 (24)" in stop.message and "var_2" not in stop.message  # |-18| < 20


def test_show_explains_the_mistake_in_text_and_json(tmp_path, capsys):
    import json
    import shutil

    from tests.conftest import SCRIPTS

    script = tmp_path / "non_scalar.py"
    shutil.copy(SCRIPTS / "mistakes" / "non_scalar.py", script)
    output = tmp_path / "non_scalar.gstep"
    assert main(["record", str(script), "-o", str(output)]) == 1
    capsys.readouterr()
    assert main(["show", str(output), "--json"]) == 0
    explanation = json.loads(capsys.readouterr().out)["explanation"]
    assert explanation["line"] == 5 and "scaled.sum().backward()" in explanation["text"]
    assert main(["show", str(output)]) == 0
    assert "what went wrong: backward() on a tensor that is not a single number" in capsys.readouterr().out
