"""Which tensor-table columns show in a given width, and how the required ones share a squeeze."""

from __future__ import annotations

from tui.ui.widgets.tensor_table import COLUMNS, fit_columns

KEYS = [key for key, _label in COLUMNS]


def shown(widths: dict[str, int], room: int) -> dict[str, int]:
    row = [widths.get(key, len(label)) for key, label in COLUMNS]
    return {KEYS[position]: width for position, width in fit_columns(row, room)}


def test_everything_shows_when_it_fits():
    assert set(shown({"name": 8}, 200)) == set(KEYS)


def test_optional_columns_go_first_and_the_four_required_stay():
    columns = shown({"name": 16, "value": 24, "grad": 24}, 78)
    assert {"name", "value", "grad", "accumulated"} <= set(columns)
    assert "device" not in columns or "requires_grad" not in columns


def test_a_squeeze_cuts_value_and_grad_before_a_name():
    columns = shown({"name": 22, "value": 30, "grad": 30}, 76)
    assert columns["name"] == 22  # "product_without_reset" stays readable
    assert abs(columns["value"] - columns["grad"]) <= 1  # they share what is left
    assert sum(width + 2 for width in columns.values()) <= 76
