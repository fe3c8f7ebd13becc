"""Opening the `:` evaluate dialog from the app (kept out of app.py: a small hook there calls this)."""

from __future__ import annotations

from typing import Any

from tui.ui.screens.evaluate import EvaluateScreen


def open_evaluate(app: Any) -> None:
    """Live and paused: evaluate in the child; running, ended or a replay: say why not, show the watches."""
    if app.main_screen is None or app.screen is not app.main_screen:
        return
    step = app.history.step
    recorded = step.watches if step is not None else ()
    session = app.session
    evaluate = getattr(session, "evaluate", None)
    why_not = None
    if app.replay:
        evaluate = None
    elif session is None or app.history.finished or evaluate is None:
        evaluate, why_not = None, "The script is not running: nothing can be evaluated. The watches recorded at this step:"
    elif app.history.current != app.history.head:
        evaluate = None
        why_not = ("This is an earlier step: the script is paused at the newest one (End goes there). "
                   "The watches recorded at this step:")
    elif app.control.awaiting or app.control.continuing:
        evaluate, why_not = None, "The script is running: pause it (Esc) to evaluate. The watches recorded at this step:"

    def set_watches(watches: list[str]) -> None:
        app.watches = watches
        setter = getattr(app.session, "set_watches", None)
        if setter is not None:
            setter(watches)
        app.notify(f"Watching {watches[-1]} from the next step on.", timeout=3)

    app.push_screen(EvaluateScreen(
        evaluate=evaluate, history=app.evaluate_history, watches=app.watches, recorded=recorded,
        on_watches=set_watches, why_not=why_not,
    ))
