"""Predict mode's checking rules (tui.steps.predict): reading a guess, the tolerance, the [predict] marker."""

from __future__ import annotations

import pytest

from tui.steps.cells import parse_cells
from tui.steps.predict import check, parse_guess, predict_points


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("-24", -24.0),
        (" None ", None),
        ("none", None),
        ("[2, 2, 2]", (2.0, 2.0, 2.0)),
        ("2 2 2", (2.0, 2.0, 2.0)),
        ("2, 2, 2", (2.0, 2.0, 2.0)),
        ("[[1, 0], [0, 1]]", ((1.0, 0.0), (0.0, 1.0))),
        ("3.072", 3.072),
        ("−24", -24.0),  # a typographic minus, as the course writes it
        ("1e-3", 0.001),
    ],
)
def test_guesses_are_read_as_numbers_lists_or_none(typed, read):
    assert parse_guess(typed) == read


@pytest.mark.parametrize("typed", ["", "abc", "[1, 2", "1 + 2", "--3"])
def test_an_unreadable_guess_is_wrong_and_says_why(typed):
    verdict = check(typed, -24.0)
    assert not verdict.right
    if typed:
        assert verdict.problem


def test_whole_numbers_are_exact_and_others_within_a_relative_1e_3():
    assert check("-24", -24.0).right
    assert not check("-24.01", -24.0).right  # exact for a whole number
    assert check("3.072", 3.072000026702881).right
    assert check("3.0722", 3.072000026702881).right  # 6.5e-5 relative
    assert not check("3.08", 3.072000026702881).right  # 2.6e-3 relative
    assert check("4.054", 4.053999900817871).right


def test_none_is_exact_both_ways():
    assert check("None", None).right
    assert not check("0", None).right
    assert not check("None", 0.0).right
    assert check("0", 0.0).right


def test_lists_must_have_the_recorded_count():
    assert check("[2, 2, 2]", (2.0, 2.0, 2.0)).right
    assert not check("[2, 2]", (2.0, 2.0, 2.0)).right
    assert not check("2", (2.0, 2.0, 2.0)).right
    assert not check("[2, 2, 3]", (2.0, 2.0, 2.0)).right


def test_a_predict_marker_asks_after_its_cells_first_code_line():
    source = "\n".join(
        [
            "# %% [markdown]",
            "# # Title",
            "",
            "# %% [predict] var_1.grad, var_2.grad",
            "# a comment first",
            "",
            "loss.backward()",
            "print(var_1.grad)",
            "# %% [predict] not-a-name x",
            "y = x * 2",
        ]
    )
    cells = parse_cells(source)
    assert cells[1].kind == "code" and cells[1].predict == ("var_1.grad", "var_2.grad")
    assert predict_points(cells) == {7: ("var_1.grad", "var_2.grad"), 10: ("x",)}
