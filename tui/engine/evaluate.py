"""Evaluate the learner's expressions in the paused script's frame: `:` in the app, watches, conditions.

Everything here runs in the script's own thread, at a stop, with the trace function off (an
expression that calls the script's functions must not stop in them) and the probes quiet (an
expression that calls `backward()` runs it, but makes no sub-steps). A tensor result becomes a
TensorView like the tensors table's; anything else a safe, bounded repr; an error one line.
"""

from __future__ import annotations

import ctypes
import reprlib
import sys
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, Iterator, Mapping

import torch  # results are read as tensors here, in the script's thread

from tui.engine.snapshot import ViewMaker
from tui.steps.inspect import REPR_CHARS, Evaluation, InspectOptions, error_line

_repr = reprlib.Repr()
_repr.maxstring = REPR_CHARS
_repr.maxother = REPR_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 12


def safe_repr(value: Any) -> str:
    """A bounded repr that never raises (a failing __repr__ becomes a visible marker)."""
    try:
        text = repr(value) if isinstance(value, torch.Size | int | float | bool | complex) else _repr.repr(value)
    except Exception as error:  # a broken __repr__ must not take the session down
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= REPR_CHARS else text[: REPR_CHARS - 1] + "…"


def _compile(source: str, mode: str) -> CodeType:
    return compile(source, "<gradstep>", mode, dont_inherit=True)


def _write_back(frame: FrameType) -> None:
    """Make assignments to a function frame's f_locals stick (CPython before 3.13 keeps a copy)."""
    if frame.f_locals is frame.f_globals or sys.version_info >= (3, 13):
        return
    try:
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    except (AttributeError, OSError):
        pass


class Inspector:
    """The learner's questions of one run: evaluate now, watches at every step, breakpoint conditions."""

    def __init__(self, views: ViewMaker) -> None:
        self.views = views
        self.watches: tuple[str, ...] = ()
        self.conditions: dict[int, str] = {}
        self.busy = False  # an expression is running: the probes make no steps meanwhile
        self.event_frame: FrameType | None = None  # the frame a sub-step (backward node, update) paused in
        self._note: str | None = None
        self._compiled: dict[str, CodeType | BaseException] = {}

    def configure(self, options: InspectOptions | None) -> None:
        if options is None:
            return
        self.watches = tuple(options.watches)
        self.conditions = dict(options.conditions)

    # -- running an expression ---------------------------------------------------------------

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        trace = sys.gettrace()
        sys.settrace(None)
        busy, self.busy = self.busy, True
        try:
            yield
        finally:
            self.busy = busy
            sys.settrace(trace)

    def _namespaces(self, frame: FrameType | None, module_globals: Mapping[str, Any]) -> tuple[dict, Any]:
        if frame is None:
            return dict(module_globals) if not isinstance(module_globals, dict) else module_globals, None
        return frame.f_globals, frame.f_locals

    def _eval_code(self, source: str) -> CodeType | BaseException:
        code = self._compiled.get(source)
        if code is None:
            try:
                code = _compile(source, "eval")
            except (SyntaxError, ValueError) as error:
                code = error
            if len(self._compiled) < 1000:
                self._compiled[source] = code
        return code

    def result(self, source: str, value: Any) -> Evaluation:
        """An evaluated value as the app shows it."""
        if isinstance(value, torch.Tensor):
            try:
                return Evaluation(source, "tensor", text="", tensor=self.views.view(value))
            except Exception as error:  # noqa: BLE001 - an odd tensor: say so, go on
                return Evaluation(source, "error", text=error_line(error))
        return Evaluation(source, "value", text=safe_repr(value))

    def evaluate(self, source: str, frame: FrameType | None, module_globals: Mapping[str, Any]) -> Evaluation:
        """The `:` input: an expression's value, or a statement run (assignments allowed)."""
        source = source.strip()
        if not source:
            return Evaluation(source, "error", text="nothing to evaluate")
        global_names, local_names = self._namespaces(frame, module_globals)
        try:
            code = _compile(source, "eval")
        except SyntaxError:
            code = None
        except ValueError as error:
            return Evaluation(source, "error", text=error_line(error))
        with self._quiet():
            if code is not None:
                try:
                    value = eval(code, global_names, local_names)
                except BaseException as error:  # noqa: BLE001 - the script's error is the learner's answer
                    return Evaluation(source, "error", text=error_line(error))
                return self.result(source, value)
            try:
                statement = _compile(source, "exec")
            except (SyntaxError, ValueError) as error:
                return Evaluation(source, "error", text=error_line(error))
            before = {name: id(value) for name, value in (local_names or global_names).items()}
            try:
                exec(statement, global_names, local_names)
            except BaseException as error:  # noqa: BLE001
                return Evaluation(source, "error", text=error_line(error))
            finally:
                if frame is not None:
                    _write_back(frame)
        after = local_names if local_names is not None else global_names
        changed = sorted(
            name for name, value in after.items() if not name.startswith("__") and before.get(name) != id(value)
        )
        said = ("set " + ", ".join(changed[:8]) + ("…" if len(changed) > 8 else "")) if changed else "ran"
        return Evaluation(
            source, "assigned",
            text=f"{said}: this changed the script's state (the next step shows it)",
        )

    # -- watches, at every step ----------------------------------------------------------------

    def watch_values(self, frame: FrameType | None, module_globals: Mapping[str, Any]) -> tuple[Evaluation, ...]:
        """Each watch evaluated now (expressions only: a watch never assigns)."""
        if not self.watches:
            return ()
        global_names, local_names = self._namespaces(frame, module_globals)
        results = []
        with self._quiet():
            for source in self.watches:
                code = self._eval_code(source)
                if isinstance(code, BaseException):
                    results.append(Evaluation(source, "error", text=error_line(code)))
                    continue
                try:
                    value = eval(code, global_names, local_names)
                except BaseException as error:  # noqa: BLE001 - shown as the watch's value
                    results.append(Evaluation(source, "error", text=error_line(error)))
                    continue
                results.append(self.result(source, value))
        return tuple(results)

    # -- conditional breakpoints ---------------------------------------------------------------

    def condition_stops(self, frame: FrameType, line: int | None = None) -> bool:
        """At a breakpoint line: whether its condition (if any) holds; a raising one stops and says why."""
        line = frame.f_lineno if line is None else line
        condition = self.conditions.get(line)
        if condition is None:
            return True
        code = self._eval_code(condition)
        if isinstance(code, BaseException):
            self._note = f"breakpoint at line {line}: its condition `{condition}` is not an expression ({error_line(code)}); stopped here"
            return True
        with self._quiet():
            try:
                held = bool(eval(code, frame.f_globals, frame.f_locals))
            except BaseException as error:  # noqa: BLE001 - stop and say why
                self._note = f"breakpoint at line {line}: its condition `{condition}` raised {error_line(error)}; stopped here"
                return True
        if held:
            self._note = f"breakpoint at line {line}: `{condition}` is true"
        return held

    def stepped_onto(self, frame: FrameType, breakpoints: frozenset[int]) -> None:
        """A step (not a breakpoint stop) reached a conditional breakpoint: its message says if it holds.

        The app's continue steps through every line and stops where this says so.
        """
        if self._note is None and self.conditions and frame.f_lineno in breakpoints:
            self.condition_stops(frame)

    def note(self, text: str) -> None:
        self._note = text

    @property
    def noted(self) -> bool:
        """Whether a reason to stop waits for the next line step."""
        return self._note is not None

    def note_for(self, kind: str) -> str | None:
        """Why a line step stopped (a condition, a break-on rule), once; other kinds leave it for the stop."""
        return self.take_note() if kind == "line" else None

    def take_note(self) -> str | None:
        """The reason for the stop just made (once), for the step's message."""
        note, self._note = self._note, None
        return note
