"""ctrl+s: where to save, and what — the steps so far, or the whole run recorded to its end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static


@dataclass(frozen=True)
class SaveChoice:
    """What the learner asked for: a path, and whether to record the whole run first."""

    path: Path
    whole_run: bool


def free_path(folder: Path, stem: str, suffix: str = ".gstep") -> Path:
    """`folder/stem.gstep`, or `stem-2.gstep`, `stem-3.gstep`… : the first that does not exist yet."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


class SaveScreen(ModalScreen["SaveChoice | None"]):
    """A path (a fresh name by default), what to save, and a warning before overwriting."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, default: Path, *, steps: int, can_record_whole: bool) -> None:
        super().__init__(id="save")
        self._default = default
        self._steps = steps
        self._can_record_whole = can_record_whole
        self._confirmed_overwrite: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield Static("Save this session as a recording (.gstep)", id="save-title")
            yield Label("File")
            yield Input(str(self._default), id="save-path")
            with RadioSet(id="save-what"):
                yield RadioButton(f"the {self._steps:,} steps so far", value=True, id="save-so-far")
                if self._can_record_whole:
                    yield RadioButton(
                        "the whole run: runs the script again to its end, in the background",
                        id="save-whole",
                    )
            yield Static("", id="save-warning", markup=False)
            with Horizontal(id="save-buttons"):
                yield Button("Save", id="save-ok", variant="primary")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()
        self._check_path()

    def _path(self) -> Path:
        return Path(self.query_one("#save-path", Input).value.strip()).expanduser()

    @on(Input.Changed, "#save-path")
    def _check_path(self) -> None:
        """Say when the file exists: the next Save overwrites it."""
        path = self._path()
        warning = self.query_one("#save-warning", Static)
        button = self.query_one("#save-ok", Button)
        if path.exists():
            warning.update(f"⚠ {path} exists: press Overwrite to replace it.")
            button.label = "Overwrite"
            button.variant = "error"
        else:
            warning.update("")
            button.label = "Save"
            button.variant = "primary"

    @on(Input.Submitted, "#save-path")
    def _submitted(self) -> None:
        """Enter in the path: save; on an existing file, a second Enter overwrites it."""
        self._save(confirmed=False)

    @on(Button.Pressed, "#save-ok")
    def _pressed(self) -> None:
        """The button already says Overwrite when the file exists: pressing it is the yes."""
        self._save(confirmed=True)

    def _save(self, *, confirmed: bool) -> None:
        """Save, unless the path is empty, a folder, or an existing file not yet confirmed."""
        raw = self.query_one("#save-path", Input).value.strip()
        warning = self.query_one("#save-warning", Static)
        if not raw:
            warning.update("⚠ Give the file a name.")
            return
        path = self._path()
        if path.is_dir():
            warning.update(f"⚠ {path} is a folder: give a file name.")
            return
        if path.exists() and not confirmed and self._confirmed_overwrite != path:
            self._confirmed_overwrite = path
            warning.update(f"⚠ {path} exists. Press Enter again (or Overwrite) to replace it.")
            return
        pressed = self.query_one("#save-what", RadioSet).pressed_button
        self.dismiss(SaveChoice(path, pressed is not None and pressed.id == "save-whole"))

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
