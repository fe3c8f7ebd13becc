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


def open_condition(app: Any) -> None:
    """ctrl+b: a condition for the current line's breakpoint, or a break-on rule (live runs)."""
    from tui.steps.inspect import parse_break_on
    from tui.ui.screens.condition import ConditionScreen, is_rule

    step = app.history.step
    if app.replay or step is None or step.line is None or app.main_screen is None or app.screen is not app.main_screen:
        return
    line = step.line

    def chosen(text: str | None) -> None:
        if text is None:
            return
        session = app.session
        if text and is_rule(text):
            rule = parse_break_on(text)
            removed = rule in app.break_on  # a rule entered again is taken off, as `b` toggles a breakpoint
            if removed:
                app.break_on.remove(rule)
            else:
                app.break_on.append(rule)
            setter = getattr(session, "set_break_on", None)
            if setter is not None:
                setter(app.break_on)
                if removed:
                    app.notify(f"No longer breaks on {rule.text}.", timeout=3, markup=False)
                else:
                    app.notify(f"Breaks on {rule.text} from the next step on.", timeout=3, markup=False)
            return
        if text:
            app.conditions[line] = text
        else:
            app.conditions.pop(line, None)
        if line not in app.history.breakpoints:
            app.control.toggle_breakpoint(line)
        setter = getattr(session, "set_conditions", None)
        if setter is not None:
            setter(sorted(app.conditions.items()))
        app.notify(f"Line {line} stops when {text} holds." if text else f"Line {line} always stops.", timeout=3)
        app.refresh_view()

    rules = tuple(rule.text for rule in app.break_on)
    app.push_screen(ConditionScreen(line, app.conditions.get(line, ""), rules), chosen)
