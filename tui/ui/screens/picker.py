"""`gradstep` alone: pick a lesson of the course; Enter opens it in the debugger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from tui.lessons import Lesson


def lesson_prompt(lesson: Lesson, note: str = "") -> Content:
    """Id and title on the first line (then the saved progress, if any), the summary dimmed below."""
    # $text-warning is a theme variable, resolved when drawn: a theme change recolours it.
    return Content.from_markup(
        "[bold $text-warning]$id[/]  [bold]$title[/]" + ("  [$text-success]$note[/]" if note else "") + "\n    [dim]$summary[/]",
        id=str(lesson.id),
        title=str(lesson.title),
        summary=str(lesson.summary),
        note=str(note),
    )


class PickerScreen(Screen):
    """The list of lessons (tui.lessons.Lesson objects)."""

    BINDINGS = [Binding("enter", "open_lesson", "Open lesson", show=True)]

    class LessonChosen(Message):
        """The learner picked a lesson to step through."""

        def __init__(self, lesson: Lesson) -> None:
            super().__init__()
            self.lesson = lesson

    def __init__(self, lessons: Sequence[Lesson], notes: Mapping[str, str] | None = None) -> None:
        super().__init__(id="picker")
        self._lessons = tuple(lessons)
        self._notes = dict(notes or {})  # lesson id -> saved progress (`done · predicted 5/7 right`)

    def compose(self) -> ComposeResult:
        yield Static(Text("gradstep — the course", style="bold"), id="picker-title")
        yield Static(
            Text("Pick a lesson and press Enter to step through it. q quits.", style="dim"),
            id="picker-hint",
        )
        options = [Option(lesson_prompt(lesson, self._notes.get(lesson.id, "")), id=str(position)) for position, lesson in enumerate(self._lessons)]
        if not options:
            options = [Option(Text("No lessons found.", style="dim"), id="none", disabled=True)]
        yield OptionList(*options, id="lesson-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _choose(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self._lessons):
            self.post_message(self.LessonChosen(self._lessons[index]))

    def action_open_lesson(self) -> None:
        """Open the highlighted lesson."""
        self._choose(self.query_one(OptionList).highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)
