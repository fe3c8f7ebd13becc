"""A narrative's links open nothing: a recording's narrative is someone else's text."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Markdown

from tui.ui.widgets.narrative import NarrativePane


class Narrated(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield NarrativePane(id="narrative")

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        self.opened.append(url)

    def notify(self, message, **options) -> None:  # type: ignore[override]
        self.notes.append(str(message))


async def test_a_clicked_link_shows_its_address_and_opens_nothing():
    app = Narrated()
    async with app.run_test(size=(80, 20)) as pilot:
        pane = app.query_one(NarrativePane)
        pane.show("Read [the docs](https://evil.example/\x1b]0;x\x07) first.")
        await pilot.pause()
        markdown = app.query_one(Markdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "https://evil.example/\x1b]0;x\x07"))
        await pilot.pause()
        await pilot.pause()
    assert app.opened == []
    assert any("https://evil.example/" in note and "\x1b" not in note for note in app.notes)
