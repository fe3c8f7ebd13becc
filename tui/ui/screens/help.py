"""? shows every key and mouse action; Escape, q or ? closes it."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
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


def keys_table(rows: Iterable[tuple[str, str]], key_style: Style | str = "bold") -> Table:
    """Two columns: the key(s), what they do."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style=key_style, no_wrap=True)
    table.add_column("does")
    for key, description in rows:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """A modal list of the keys, built from the app's own Bindings; keys in the theme's colour."""

    COMPONENT_CLASSES = {"help-screen--key"}

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
                yield Static(id="help-keys")
                yield Static(Text("Mouse", style="bold"), classes="help-heading")
                yield Static(id="help-mouse")
                yield Static(
                    Text(
                        "← and p read earlier steps from the history: nothing is re-run. "
                        "→ walks forward through the history, then runs the script.",
                        style="dim",
                    ),
                    id="help-note",
                )
            yield Static(Text("Escape, q or ? closes this", style="dim"), id="help-footer")

    def on_mount(self) -> None:
        self._colour_keys()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._colour_keys())

    def _colour_keys(self) -> None:
        """Build the key tables in the theme's colour (again after a theme change)."""
        key_style = self.get_component_rich_style("help-screen--key")
        self.query_one("#help-keys", Static).update(keys_table(self._keys, key_style))
        self.query_one("#help-mouse", Static).update(keys_table(MOUSE_HELP, key_style))
