"""A footer that fits its width: the keys a newcomer needs always, the rest as room allows."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Shown at every width (when the screen allows the action at all), in this order.
ESSENTIAL = ("help", "next", "step_into", "previous", "export", "save")
# The first to join when there is room: what Escape does now (pause a run, or back to the lessons).
NEXT_IN_LINE = ("pause", "lessons", "toggle_predict")
# A key's cells beyond its key and description: FooterKey's padding.
KEY_PADDING = 3
# Room kept for the command palette's key on the right.
PALETTE_ROOM = 12


def footer_width(key_display: str, description: str) -> int:
    """The cells one key takes in the footer."""
    return cell_len(key_display) + cell_len(description) + KEY_PADDING


def fit_bindings(bindings: list[tuple[Binding, str]], width: int) -> list[tuple[Binding, str]]:
    """The (binding, key display) pairs that fit in `width` cells: the essential ones, then the others in order."""

    def action_of(binding: Binding) -> str:
        return binding.action.split("(")[0]

    essential = [pair for pair in bindings if action_of(pair[0]) in ESSENTIAL]
    essential.sort(key=lambda pair: ESSENTIAL.index(action_of(pair[0])))
    room = width - PALETTE_ROOM - sum(footer_width(display, binding.description) for binding, display in essential)
    chosen = list(essential)
    first = [pair for pair in bindings if action_of(pair[0]) in NEXT_IN_LINE]
    for binding, display in first + [pair for pair in bindings if pair not in first]:
        if (binding, display) in chosen:
            continue
        cost = footer_width(display, binding.description)
        if cost <= room:
            chosen.append((binding, display))
            room -= cost
    return chosen


class FittedFooter(Footer):
    """Textual's Footer, choosing its keys by width; recomposed when the width changes."""

    def __init__(self) -> None:
        super().__init__()
        self._fitted_width = -1

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width and self._bindings_ready:
            self._fitted_width = self.size.width
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        seen: set[str] = set()
        shown: list[tuple[Binding, str]] = []
        enabled_of: dict[str, bool] = {}
        tooltip_of: dict[str, str] = {}
        for _node, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            shown.append((binding, self.app.get_key_display(binding)))
            enabled_of[binding.action] = enabled
            tooltip_of[binding.action] = tooltip
        self._fitted_width = self.size.width
        width = self.size.width or self.app.size.width
        for binding, display in fit_bindings(shown, width):
            yield FooterKey(
                binding.key,
                display,
                binding.description,
                binding.action,
                disabled=not enabled_of[binding.action],
                tooltip=tooltip_of[binding.action] or binding.tooltip,
            ).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _node, binding, enabled, tooltip = palette
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )
