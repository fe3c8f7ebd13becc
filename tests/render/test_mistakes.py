"""Each classic mistake, recorded from a real script, is explained with that script's own names and lines."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import SCRIPTS
from tui.render.mistakes import explain

pytest.importorskip("torch")


def recorded(name, tmp_path):
    """Record the script with warnings printed to stderr, as plain Python does (pytest collects them instead)."""
    import sys
    import warnings

    from tests.engine.drive import record

    def printed(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    target = tmp_path / name
    shutil.copy(SCRIPTS / "mistakes" / name, target)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = printed
        steps, _ = record(target)
    return steps, target.read_text()


def first_explained(steps, source, title_part):
    for index in range(len(steps)):
        mistake = explain(steps, index, source)
        if mistake is not None and title_part in mistake.title:
            return index, mistake
    raise AssertionError(f"no step explains {title_part!r}")


@pytest.mark.parametrize(
    ("script", "title", "words"),
    [
        ("backward_twice.py", "twice", ["Line 6 calls loss.backward()", "line 5", "retain_graph=True"]),
        ("int_requires_grad.py", "integer", ["Line 3 makes counts", "dtype=torch.float32 on line 3"]),
        ("non_scalar.py", "single number", ["scaled has shape 3 (3 numbers)", "line 5", "scaled.sum().backward()"]),
        ("inplace.py", "in-place", ["activated", "when Exp saved it", "line 5 changed activated in place", "line 6"]),
        ("non_leaf_grad.py", "not a leaf", ["hidden is not a leaf (MulBackward0", "hidden.grad at line 7",
                                            "hidden.retain_grad()"]),
        ("graph_cut.py", "cut", ["loss.backward() at line 7 never reached weight", "line 4: `.detach()`"]),
        ("missing_zero_grad.py", "zero_grad", ["weight.grad now holds the sum of 2 backward passes of the loop at "
                                               "line 5", "optimizer.zero_grad() on the line after line 8"]),
        ("broadcast_loss.py", "broadcasts", ["Line 7 compares a prediction of shape (4, 1) with a target of shape (4,)",
                                             "unsqueeze(1)"]),
    ],
)
def test_the_explanation_names_the_scripts_own_tensor_and_line(tmp_path, script, title, words):
    steps, source = recorded(script, tmp_path)
    _, mistake = first_explained(steps, source, title)
    for word in words:
        assert word in mistake.text, (word, mistake.text)
    assert 2 <= mistake.text.count(". ") + 1 <= 4  # two or three plain sentences


def test_lesson_07s_i_hate_threes_cut_is_found_by_walking_from_x_3(tmp_path):
    from tests.engine.drive import record
    from tui.lessons import find_lesson

    path = find_lesson("07").path
    steps, _ = record(path)
    source = path.read_text()
    backward = next(n for n, text in enumerate(source.splitlines(), 1) if text.startswith("x_3.backward()"))
    index, mistake = first_explained(steps, source, "t_3")
    assert f"x_3.backward() at line {backward} never reached t_3" in mistake.text
    fresh = next(n for n, text in enumerate(source.splitlines(), 1) if "torch.tensor(" in text and "return" in text)
    assert f"x_3 itself has no history: it is a leaf, made at line {fresh}" in mistake.text
    assert "torch.tensor(...)" in mistake.text  # that line makes a new tensor from a number


def test_a_clean_run_explains_nothing():
    from tests.engine.drive import record

    steps, _ = record(SCRIPTS / "seed_sgd.py")
    source = (SCRIPTS / "seed_sgd.py").read_text()
    assert all(explain(steps, index, source) is None for index in range(0, len(steps), 7))
