"""--break-on in every mode: breaks-only runs honour each rule, `node:` stops at each node of its class,
`nan` can be armed and disarmed mid-run, and a run with no rule installs nothing (tui.engine.breakpoints)."""

from __future__ import annotations

import pytest

from tests.engine.drive import Driver
from tui.cli import main
from tui.steps.inspect import InspectOptions, parse_break_on
from tui.steps.recording import load_recording

pytest.importorskip("torch")

ITERATIONS = 100  # seed_sgd.py's loop


def break_on(*rules: str) -> InspectOptions:
    return InspectOptions(break_on=tuple(parse_break_on(rule) for rule in rules))


def resume_to_stop(driver: Driver):
    """Continue: the step it stops at (after the one standing for what it ran untraced)."""
    step = driver.send("resume")
    return driver.next_step() if step.kind == "untraced" else step


def printed_until_the_end(driver: Driver) -> str:
    """Continue to the end: what the script printed meanwhile (each step carries the output since the last)."""
    steps = [driver.send("resume")]
    while steps[-1].kind not in ("end", "exception", "limit"):
        steps.append(driver.next_step())
    assert steps[-1].kind == "end" and not any(step.message for step in steps if step.kind != "untraced"), steps
    return "".join(step.output for step in steps)


def recorded(script, tmp_path, *options: str) -> list:
    output = tmp_path / "run.gstep"
    assert main(["record", str(script), "-o", str(output), *options]) == 0
    return list(load_recording(output).steps)


def seed_grad_stops() -> list[tuple[int, int | None, str]]:
    """(line, iteration, what) of every change to var_1.grad in seed_sgd.py, read off its source.

    backward at 11, zero_grad at 13, then in the loop backward at 18 and zero_grad at 20: each change
    shows before the next line that runs (12, 15, 19, then 15 again: the loop header).
    """
    stops: list[tuple[int, int | None, str]] = [(12, None, "accumulated"), (15, 1, "set to None")]
    for iteration in range(1, ITERATIONS + 1):
        stops += [(19, iteration, "accumulated"), (15, iteration, "set to None")]
    return stops


def grad_stops(steps) -> list[tuple[int, int | None, str]]:
    found = []
    for step in steps:
        if step.message and step.message.startswith("break on grad: var_1.grad"):
            what = "accumulated" if "accumulated" in step.message else "set to None" if "set to None" in step.message else "?"
            found.append((step.line, step.iteration, what))
    return found


@pytest.mark.parametrize("mode", [[], ["--breaks-only"]], ids=["record", "breaks-only"])
def test_break_on_grad_var_1_stops_at_each_accumulate_and_reset_of_the_seed_loop(script, tmp_path, mode):
    steps = recorded(script("seed_sgd.py"), tmp_path, *mode, "--break-on", "grad:var_1")
    assert grad_stops(steps) == seed_grad_stops()  # 101 accumulates and 101 resets
    if mode:  # breaks-only: nothing but those stops and the end
        assert [step.kind for step in steps] == ["line"] * (2 * (ITERATIONS + 1)) + ["end"]
    first = next(step for step in steps if step.message and "accumulated" in step.message)
    assert first.tensors["var_1"].grad == -24.0 and "now -24.0000 (it was None)" in first.message


def test_breaks_only_honours_grad_norm(script, tmp_path):
    steps = recorded(script("seed_sgd.py"), tmp_path, "--breaks-only", "--break-on", "grad-norm>20")
    stops = [step for step in steps if step.kind == "line"]
    # |d loss/d var_1| = 24 > 20 after the first backward, 20.64 after the loop's first; 17.6 after its second
    assert [(step.line, step.iteration) for step in stops] == [(12, None), (19, 1)]
    assert "the grad norm of var_1 (24)" in stops[0].message and "var_2" not in stops[0].message
    assert "the grad norm of var_1 (20.64)" in stops[1].message


def node_stops(steps) -> list[tuple[str, int | None, int | None, str | None]]:
    return [(step.kind, step.line, step.node.node_id, step.message) for step in steps if step.kind == "backward"]


def test_break_on_node_stops_at_each_node_of_that_class_in_one_backward(script):
    driver = Driver(script("two_muls.py"), inspect=break_on("node:MulBackward0"))
    stops = [resume_to_stop(driver) for _ in range(3)]
    driver.close()
    # the first MulBackward0 (`(...) * weight`, line 7), the second (`weight * 3.0`, line 6), the end
    assert [step.kind for step in stops] == ["backward", "backward", "end"]
    first, second = stops[0], stops[1]
    assert first.node.name == second.node.name == "MulBackward0" and first.node.node_id != second.node.node_id
    assert first.message == second.message == "break on node: MulBackward0 ran (the backward pass of line 9)"
    assert first.node.grad_outputs[0].value == 26.0  # ∂loss/∂shifted = 2 × 13
    assert second.node.grad_outputs[0].value == 26.0 * 2.0  # ∂loss/∂scaled = 26 × weight


@pytest.mark.parametrize("mode", [[], ["--breaks-only"]], ids=["record", "breaks-only"])
def test_break_on_node_in_a_recording_marks_each_node_of_that_class(script, tmp_path, mode):
    steps = recorded(script("two_muls.py"), tmp_path, *mode, "--break-on", "node:MulBackward0")
    marked = [step for step in steps if step.message and step.message.startswith("break on node:")]
    assert [(step.kind, step.line, step.node.name) for step in marked] == [("backward", 9, "MulBackward0")] * 2
    assert marked[0].node.node_id != marked[1].node.node_id
    if mode:
        assert [step.kind for step in steps] == ["backward", "backward", "end"]
    else:  # the other nodes of the pass are steps too, without the rule's message
        others = [step for step in steps if step.kind in ("backward", "accumulate") and step not in marked]
        assert others and all(step.node.name != "MulBackward0" and not step.message for step in others)


def printed(steps) -> dict[str, str]:
    lines = [line.split(": ", 1) for line in steps[-1].output.splitlines() if ": " in line]
    return {key: value for key, value in lines}


@pytest.mark.parametrize(
    ("rules", "trace", "dispatch"),
    [([], "none", "0"), (["nan"], "none", "1"), (["node:MulBackward0"], "none", "0"), (["grad:weight"], "set", "0")],
)
def test_a_breaks_only_run_installs_only_what_its_rules_need(script, tmp_path, rules, trace, dispatch):
    options = [word for rule in rules for word in ("--break-on", rule)]
    steps = recorded(script("engine_state.py"), tmp_path, "--breaks-only", *options)
    seen = printed(steps)
    assert (seen["trace function"], seen["dispatch modes"], seen["function modes"]) == (trace, dispatch, "0")
    if not rules:
        assert [step.kind for step in steps] == ["end"]


def test_nan_armed_and_disarmed_mid_run_through_the_session(script):
    """The app's ctrl+b sends set_break_on to the child's session: `nan` holds from the next line on."""
    nan = parse_break_on("nan")
    driver = Driver(script("nan_twice.py"))
    assert driver.first.line == 2
    driver.session.set_break_on([nan])
    stop = resume_to_stop(driver)
    assert (stop.kind, stop.line) == ("line", 5)
    assert stop.message == "break on nan: `log` at line 5 is the first operation that produced an Inf"
    driver.session.set_break_on([])  # disarmed, then armed again: a fresh watch that stops at the NaN
    assert driver.send("step_into").line == 6
    driver.session.set_break_on([nan])
    stop = resume_to_stop(driver)
    assert (stop.line, stop.message) == (7, "break on nan: `sqrt` at line 7 is the first operation that produced a NaN")
    driver.session.set_break_on([])
    assert "dispatch modes active: 0" in printed_until_the_end(driver)  # disarming took the mode off the stack


def test_nan_disarmed_before_any_nan_never_stops(script):
    driver = Driver(script("nan_twice.py"), inspect=break_on("nan"))
    driver.session.set_break_on([])
    assert "dispatch modes active: 0" in printed_until_the_end(driver)  # no stop at either line, no mode left
