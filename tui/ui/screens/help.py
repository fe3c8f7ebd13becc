"""? shows every key and mouse action; Escape, q or ? closes it."""

from __future__ import annotations

from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

MOUSE_HELP = (
    ("click a tensor row", "select it: the grad_fn tree and details follow"),
    ("click the gutter", "toggle a breakpoint on that line"),
    ("click the device", "choose cpu, cuda or mps"),
)


def keys_table(rows: Iterable[tuple[str, str]]) -> Table:
    """Two columns: the key(s), what they do."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style="bold #ffd75f", no_wrap=True)
    table.add_column("does")
    for key, description in rows:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """A modal list of the keys, built from the app's own Bindings."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self._keys = tuple(keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("gradstep — keys", style="bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(keys_table(self._keys), id="help-keys")
                yield Static(Text("Mouse", style="bold"), classes="help-heading")
                yield Static(keys_table(MOUSE_HELP), id="help-mouse")
                yield Static(
                    Text(
                        "← and p read earlier steps from the history: nothing is re-run. "
                        "→ walks forward through the history, then runs the script.",
                        style="dim",
                    ),
                    id="help-note",
                )
            yield Static(Text("Escape, q or ? closes this", style="dim"), id="help-footer")
