"""Colours come from the theme: the panes draw in the theme's variables, and a theme change repaints them.

On a real recording of lesson 03, replayed; assertions read the segments the panes draw.
"""

from __future__ import annotations

from rich.color import Color

from tests.ui.test_history_curves import WIDE, lesson_03
from tui.ui.app import GradstepApp
from tui.ui.widgets.details import BARS, Details
from tui.ui.widgets.graph_tree import GraphTree
from tui.ui.widgets.output_pane import OutputPane


def theme_color(app: GradstepApp, variable: str) -> tuple[int, int, int]:
    return Color.parse(app.theme_variables[variable]).get_truecolor()


def drawn(widget, text: str):
    """The first segment on screen in `widget` whose text starts with `text` (from its cached rows)."""
    for y in range(widget.scrollable_content_region.height):
        for segment in widget.render_line(y):
            if segment.text.startswith(text):
                return segment
    raise AssertionError(f"{text!r} not drawn in {widget}")


async def test_the_details_pane_in_textual_light_uses_the_themes_colours():
    app = GradstepApp(recording=lesson_03())
    async with app.run_test(size=WIDE) as pilot:
        # GIVEN textual-light, in iteration 20 of lesson 03
        app.theme = "textual-light"
        app.history.go(300)
        app.refresh_view()
        await pilot.pause()
        details = app.screen.query_one(Details)
        # THEN the tensor's name is in the theme's $text-warning, not a fixed yellow
        name = drawn(details, "loss")
        assert name.style.color.get_truecolor() == theme_color(app, "text-warning")
        # AND the tallest bar of the loss curve is in the theme's $error
        text = details.render_text(details.scrollable_content_region.width)
        tallest = text.plain.index(BARS[-1])
        styles = [span.style for span in text.spans if span.start <= tallest < span.end]
        assert any(style.color.get_truecolor() == theme_color(app, "error") for style in styles)


async def test_switching_theme_at_run_time_repaints_every_pane():
    app = GradstepApp(recording=lesson_03())
    async with app.run_test(size=WIDE) as pilot:
        # GIVEN the dark theme at the last step (the script finished; the tree shows the leaves)
        app.theme = "textual-dark"
        app.history.go(app.history.head)
        app.refresh_view()
        await pilot.pause()
        details = app.screen.query_one(Details)
        tree = app.screen.query_one(GraphTree)
        output = app.screen.query_one(OutputPane)
        dark = theme_color(app, "text-warning")
        assert drawn(details, "loss").style.color.get_truecolor() == dark
        # WHEN the learner switches to a light theme
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        light = theme_color(app, "text-warning")
        assert light != dark
        # THEN the cached rows were redrawn in the new theme's colours
        assert drawn(details, "loss").style.color.get_truecolor() == light
        assert drawn(tree, " → var_1").style.color.get_truecolor() == light
        finished = drawn(output, "— the script finished —")
        assert finished.style.color.get_truecolor() == theme_color(app, "text-success")


async def test_the_source_is_highlighted_for_a_dark_or_a_light_background():
    from tui.ui.widgets.source_view import SourceView

    app = GradstepApp(recording=lesson_03())
    async with app.run_test(size=WIDE) as pilot:
        app.theme = "textual-dark"
        await pilot.pause()
        source = app.screen.query_one(SourceView)
        dark = [span.style for line in source._code_lines for span in line.spans]
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        light = [span.style for line in source._code_lines for span in line.spans]
        assert dark and light and dark != light
