"""diff: two runs aligned step by step; the first and the largest difference beyond the tolerance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.builders import header, tensor_view
from tui.cli import main
from tui.steps.diff import diff_steps
from tui.steps.model import Step, Summary
from tui.steps.recording import write_recording


def seed_run(lr: float = 3e-3, iterations: int = 4) -> list[Step]:
    """The seed example's arithmetic by hand: one line step and one optimizer step per iteration."""
    var_1, var_2 = 3.0, 4.0
    steps: list[Step] = []
    for _ in range(iterations):
        grad_1 = -2 * (15 - var_1 * var_2) * var_2
        grad_2 = -2 * (15 - var_1 * var_2) * var_1
        tensors = {"var_1": tensor_view(var_1, grad=grad_1), "var_2": tensor_view(var_2, grad=grad_2)}
        steps.append(Step(index=len(steps), kind="line", line=11, tensors=tensors))
        var_1, var_2 = var_1 - lr * grad_1, var_2 - lr * grad_2
        tensors = {"var_1": tensor_view(var_1, grad=grad_1), "var_2": tensor_view(var_2, grad=grad_2)}
        steps.append(Step(index=len(steps), kind="optimizer", phase="optimize", line=11, tensors=tensors))
    return steps


def test_the_same_run_twice_does_not_differ() -> None:
    report = diff_steps(seed_run(), seed_run())
    assert report.same and report.first is None and report.largest is not None
    assert report.largest.abs_diff == 0.0


def test_differences_inside_the_tolerance_do_not_count() -> None:
    nudged = [replace(step, tensors={n: replace(v, value=v.value * (1 + 1e-7)) for n, v in step.tensors.items()})
              for step in seed_run()]
    assert diff_steps(seed_run(), nudged).same


def test_another_learning_rate_differs_first_after_the_first_update() -> None:
    report = diff_steps(seed_run(3e-3), seed_run(3.1e-3))
    assert not report.same
    assert (report.first.step, report.first.tensor, report.first.field) == (1, "var_1", "value")
    assert report.first.a.startswith("3.072") and report.first.b.startswith("3.0744")
    assert report.largest.step > report.first.step and report.largest.abs_diff > report.first.abs_diff


def test_a_grad_difference_is_named_as_such() -> None:
    a = seed_run()
    b = list(a)
    b[2] = replace(b[2], tensors={**b[2].tensors, "var_2": replace(b[2].tensors["var_2"], grad=-1.0)})
    report = diff_steps(a, b)
    assert (report.first.step, report.first.tensor, report.first.field) == (2, "var_2", "grad")


def test_tolerance_is_numpy_isclose() -> None:
    """|a - b| <= atol + rtol * |b|: the defaults allow 1.1e-5 around 1.0."""
    a, b = [Step(0, "line", tensors={"t": tensor_view(1.0)})], [Step(0, "line", tensors={"t": tensor_view(1.00002)})]
    report = diff_steps(a, b)
    assert not report.same and report.first.a == "1" and report.first.b == "1.00002"
    assert diff_steps(a, b, atol=2.1e-5).same
    assert diff_steps(a, b, rtol=2.1e-5, atol=0).same
    assert diff_steps(a, [Step(0, "line", tensors={"t": tensor_view(1.00001)})]).same


def test_summaries_are_compared_on_their_statistics() -> None:
    stats = Summary(numel=1000, min=-1.0, max=1.0, mean=0.1, std=0.5, nan=0, inf=0, zeros=3, first=(0.0,))
    a = [Step(0, "line", tensors={"big": tensor_view(None, shape=(1000,), summary=stats)})]
    same = [Step(0, "line", tensors={"big": tensor_view(None, shape=(1000,), summary=replace(stats, zeros=4))})]
    other = [Step(0, "line", tensors={"big": tensor_view(None, shape=(1000,), summary=replace(stats, mean=0.2))})]
    assert diff_steps(a, same).same
    report = diff_steps(a, other)
    assert report.first.field == "value summary (mean)" and report.first.abs_diff == pytest.approx(0.1)


def test_nan_in_both_runs_at_the_same_place_is_the_same() -> None:
    a = [Step(0, "line", tensors={"t": tensor_view((1.0, "nan"), shape=(2,))})]
    assert diff_steps(a, list(a)).same


def test_complex_values_and_unreadable_markers_compare_as_text() -> None:
    complex_a = [Step(0, "line", tensors={"c": tensor_view(("(1+1j)", "2j"), shape=(2,))})]
    complex_b = [Step(0, "line", tensors={"c": tensor_view(("(1+1j)", "3j"), shape=(2,))})]
    assert diff_steps(complex_a, list(complex_a)).same
    report = diff_steps(complex_a, complex_b)
    assert report.first is not None and report.first.tensor == "c"
    unreadable = [Step(0, "line", tensors={"s": tensor_view("<unreadable: RuntimeError: no storage>")})]
    assert diff_steps(unreadable, list(unreadable)).same


def test_a_shape_change_is_a_difference() -> None:
    a = [Step(0, "line", tensors={"t": tensor_view((1.0, 2.0), shape=(2,))})]
    b = [Step(0, "line", tensors={"t": tensor_view((1.0, 2.0, 3.0), shape=(3,))})]
    assert diff_steps(a, b).first.field == "shape"


def test_runs_that_part_ways_are_reported() -> None:
    a = seed_run()
    b = seed_run()[:5] + [Step(5, "exception", line=12)]
    report = diff_steps(a, b)
    assert not report.same
    assert report.divergence.step == 5 and "exception at line 12" in report.divergence.b
    assert (report.steps_a, report.steps_b, report.compared) == (8, 6, 6)


def test_optimizer_hyperparameters_are_compared_too() -> None:
    a = [Step(0, "line", tensors={}, scalars={"my_sgd.lr": 3e-3})]
    b = [Step(0, "line", tensors={}, scalars={"my_sgd.lr": 3.1e-3})]
    assert diff_steps(a, b).first.tensor == "my_sgd.lr"


def _recording(path: Path, steps: list[Step]) -> str:
    write_recording(path, header(), steps)
    return str(path)


def test_cli_exit_0_when_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _recording(tmp_path / "a.gstep", seed_run()), _recording(tmp_path / "b.gstep", seed_run())
    assert main(["diff", a, b]) == 0
    assert "no tensor differs beyond rtol=1e-05, atol=1e-06 over 8 steps" in capsys.readouterr().out


def test_cli_exit_1_naming_the_first_differing_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _recording(tmp_path / "a.gstep", seed_run()), _recording(tmp_path / "b.gstep", seed_run(3.1e-3))
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    assert "first difference: step 1 (optimizer at line 11), var_1 value" in out
    assert "largest difference: step 6 (line at line 11), var_1 grad" in out  # the grads part most


def test_cli_exit_2_for_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _recording(tmp_path / "a.gstep", seed_run())
    junk = tmp_path / "junk.gstep"
    junk.write_text("not a recording")
    assert main(["diff", a, str(junk)]) == 2
    assert main(["diff", a, str(tmp_path / "missing.gstep")]) == 2
    assert main(["diff", a, a, "--rtol", "-1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 3


# -- with the real engine: tests/scripts/seed_sgd.py recorded by tui.engine.session --------------------------


def test_two_cpu_recordings_of_the_seed_example_do_not_differ(tmp_path: Path, capsys) -> None:
    from tests.conftest import SCRIPTS
    from tests.engine.recorded import record_file, seed_recording

    again = record_file(SCRIPTS / "seed_sgd.py", tmp_path / "again.gstep")
    assert main(["diff", str(seed_recording()), str(again)]) == 0
    assert "no tensor differs beyond rtol=1e-05, atol=1e-06" in capsys.readouterr().out


def test_a_copy_with_lr_3_1e_3_differs_from_the_step_its_optimizer_exists(script, tmp_path: Path, capsys) -> None:
    from tests.engine.recorded import record_file, seed_recording
    from tui.steps.recording import load_recording

    copy = script("seed_sgd.py")
    copy.write_text(copy.read_text().replace("lr=3e-3", "lr=3.1e-3"))
    other = record_file(copy, tmp_path / "lr.gstep")
    assert main(["diff", str(seed_recording()), str(other)]) == 1
    out = capsys.readouterr().out
    steps = load_recording(other).steps
    expected = next(step.index for step in steps if "my_sgd.lr" in step.scalars)
    assert f"first difference: step {expected} (line at line " in out and "my_sgd.lr value: A 0.003 vs B 0.0031" in out
    assert "first tensor difference: step " in out and "(optimizer at line 12), var_1 value: A 3.072 vs B 3.0743" in out
    assert "note: the two recordings are of different script sources" in out
    assert "largest difference:" in out
