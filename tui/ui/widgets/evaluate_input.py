"""The `:` input: an Input that remembers what was typed (↑ / ↓ walk the history)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class EvaluateInput(Input):
    """One expression a line; ↑ / ↓ bring back earlier ones (the history outlives the dialog)."""

    BINDINGS = [
        Binding("up", "older", "Older", show=False),
        Binding("down", "newer", "Newer", show=False),
    ]

    def __init__(self, history: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]  # Input's keyword arguments
        self.history = history  # shared with the app: the newest last
        self._position = len(history)

    def remember(self, text: str) -> None:
        """Keep `text` as the newest entry (not twice in a row)."""
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._position = len(self.history)

    def action_older(self) -> None:
        """The expression typed before this one."""
        if self._position > 0:
            self._position -= 1
            self.value = self.history[self._position]
            self.cursor_position = len(self.value)

    def action_newer(self) -> None:
        """The expression typed after this one (an empty line past the newest)."""
        if self._position < len(self.history):
            self._position += 1
            self.value = self.history[self._position] if self._position < len(self.history) else ""
            self.cursor_position = len(self.value)
