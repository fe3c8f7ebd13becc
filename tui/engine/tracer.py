"""The bdb-based tracer: pauses before each line of the script's own code, nowhere else.

Only frames whose code comes from the script file can stop (module level, and the
functions and methods it defines, such as a `forward()` called by torch); torch and
other libraries run untraced. Continue with no breakpoint drops the trace function
as bdb does, so the script runs at native speed; a pause request from another thread
then turns tracing back on in the worker thread, and the script stops at its next line:
on Python 3.12+ through `threading.settrace_all_threads` (standard library only); on 3.10
and 3.11, which lack it, through `_PyEval_SetTrace` on the worker's thread state (ctypes,
the `_Kicker`). Where neither is available the trace is kept on during continue and
pausing sets `f_trace` on the worker's frames.
"""

from __future__ import annotations

import bdb
import builtins
import ctypes
import os
import sys
import threading
from collections.abc import Callable, Mapping
from types import CodeType, FrameType
from typing import Any


def _untrace_forked_child() -> None:
    """A process forked from a traced script (a DataLoader worker) runs untraced.

    It inherits the script thread's trace function; left on, the child would stop at its
    first line of the script's code and wait for a learner who is not there.
    """
    sys.settrace(None)
    threading.settrace(None)


os.register_at_fork(after_in_child=_untrace_forked_child)

# bdb from 3.13 keeps the frame of its latest trace event in `enterframe` (for pdb's `stepi`), and
# 3.13.0 still holds it after the event: the last frame traced (a backward hook's, say) then keeps
# its locals alive, the grad tensors autograd handed it among them.
_BDB_KEEPS_ENTERFRAME = "enterframe" in vars(bdb.Bdb())


class Tracer(bdb.Bdb):
    """Stops before lines of one script file; everything else runs untraced."""

    def __init__(self, filename: str, on_line: Callable[[FrameType], None]) -> None:
        super().__init__()
        self.filename = filename
        self.breakpoints: frozenset[int] = frozenset()
        # A breakpoint line stops only when this says so (a condition; tui.engine.evaluate).
        self.break_test: Callable[[FrameType], bool] | None = None
        # Armed break-on rules look at every line of the script (tui.engine.breakpoints).
        self.line_watch: Callable[[FrameType], bool] | None = None
        self.pause_requested = False
        self.native = False  # tracing dropped during a continue
        self._on_line = on_line
        self._worker_ident: int | None = None
        self._kicker = _Kicker.create()
        self._kick_lock = threading.Lock()
        self._tstate: int | None = None

    if _BDB_KEEPS_ENTERFRAME:

        def trace_dispatch(self, frame: FrameType, event: str, arg: Any) -> Any:
            """bdb's, then let go of the frame: a kept one holds the script's tensors past their use.

            A gradient autograd hands to a hook must be free again once the hook returns, or
            AccumulateGrad copies it into `.grad` instead of taking it (the script's profiler table
            shows the copies) and memory stays held until the next traced event.
            """
            if event == "call" and self.botframe is not None and frame.f_code.co_filename != self.filename:
                return None
            try:
                return bdb.Bdb.trace_dispatch(self, frame, event, arg)
            finally:
                self.enterframe = None

    else:

        def trace_dispatch(self, frame: FrameType, event: str, arg: Any) -> Any:
            """bdb's, with the answer for a call into library code given at once.

            Every Python call torch makes (each module's forward, each functional) reaches the
            trace function; bdb would say "do not trace" too, through five method calls.
            """
            if event == "call" and self.botframe is not None and frame.f_code.co_filename != self.filename:
                return None
            return bdb.Bdb.trace_dispatch(self, frame, event, arg)

    # -- the stop logic ----------------------------------------------------------------------

    def stop_here(self, frame: FrameType) -> bool:
        if frame.f_code.co_filename != self.filename:
            return False
        if self.pause_requested:
            return True
        return super().stop_here(frame)

    def break_here(self, frame: FrameType) -> bool:
        if frame.f_code.co_filename != self.filename:
            return False
        if self.line_watch is not None and self.line_watch(frame):
            return True
        if frame.f_lineno not in self.breakpoints:
            return False
        return self.break_test is None or self.break_test(frame)

    def break_anywhere(self, frame: FrameType) -> bool:
        return (bool(self.breakpoints) or self.line_watch is not None) and frame.f_code.co_filename == self.filename

    # -- what happens at a stop --------------------------------------------------------------

    def user_line(self, frame: FrameType) -> None:
        """Before a line of the script: hand the frame to the session."""
        self.pause_requested = False
        self._on_line(frame)

    def user_call(self, frame: FrameType, argument_list: Any) -> None:
        """Entering a function of the script: nothing to show until its first line."""

    def user_return(self, frame: FrameType, return_value: Any) -> None:
        """Leaving a function of the script: the caller's next line is the next stop."""

    def user_exception(self, frame: FrameType, exc_info: Any) -> None:
        """An exception passing through: shown by the session if nothing catches it."""

    # -- commands (called in the thread that runs the script, at a stop) ---------------------

    def step_into(self) -> None:
        self.set_step()

    def step_over(self, frame: FrameType) -> None:
        self.set_next(frame)

    def step_out(self, frame: FrameType) -> None:
        """Run until the script frame that called this one gets its next line.

        bdb's set_return stops in the direct caller, which here is often torch's
        (nn.Module.__call__ calling forward) and never traced, so aim at the script's
        own caller instead. At module level, step out runs on like continue.
        """
        caller = frame.f_back
        while caller is not None and caller.f_code.co_filename != self.filename:
            caller = caller.f_back
        if caller is None:
            self.set_continue()
        else:
            self._set_stopinfo(caller, None)  # type: ignore[attr-defined]  # bdb's own, not in typeshed

    def set_continue(self) -> None:
        """Run to a breakpoint or the end; without breakpoints, at native speed."""
        self._set_stopinfo(self.botframe, None, -1)  # type: ignore[attr-defined]  # bdb's own, not in typeshed
        can_kick = self._kicker is not None or hasattr(threading, "settrace_all_threads")
        if self.breakpoints or self.line_watch is not None or not can_kick or threading.get_ident() != self._worker_ident:
            return
        self.native = True
        sys.settrace(None)
        frame = sys._getframe().f_back
        while frame is not None and frame is not self.botframe:
            del frame.f_trace
            frame = frame.f_back
        if self.pause_requested:  # a pause that came while we were switching: honour it
            self._on_kick(sys._getframe())

    def set_breakpoints(self, lines: frozenset[int]) -> None:
        """New breakpoints (any thread); a native continue starts tracing again to see them."""
        self.breakpoints = lines
        if lines and self.native:
            self._retrace()

    def request_pause(self) -> None:
        """From another thread: stop at the script's next line."""
        self.pause_requested = True
        self._retrace()

    # -- running -----------------------------------------------------------------------------

    def run_code(self, code: CodeType, namespace: dict[str, Any]) -> None:
        """Run the compiled script under the tracer in the calling thread."""
        self.reset()
        self._worker_ident = threading.get_ident()
        self._tstate = self._kicker.thread_state() if self._kicker is not None else None
        sys.settrace(self.trace_dispatch)
        try:
            exec(code, namespace)
        finally:
            self.quitting = True
            sys.settrace(None)
            with self._kick_lock:
                self._tstate = None
                self.native = False

    def start_untraced(self) -> None:
        """For a run without a trace function (breaks-only): allow a later stop request."""
        self.reset()
        self._worker_ident = threading.get_ident()
        self._tstate = self._kicker.thread_state() if self._kicker is not None else None
        self.native = True

    def end_untraced(self) -> None:
        with self._kick_lock:
            self._tstate = None
            self.native = False
        sys.settrace(None)

    def _retrace(self) -> None:
        """Make the worker thread trace its script frames again (called from any thread)."""
        if threading.get_ident() == self._worker_ident:  # e.g. stop() called from on_step
            if self.native:
                self._on_kick(sys._getframe())
            else:
                self._trace_frames(sys._getframe())
            return
        with self._kick_lock:
            if self.native and self._tstate is not None and self._kicker is not None:
                self._kicker.kick(self._tstate, self._on_kick)
                return
            native = self.native
        frames: Mapping[int, FrameType] = sys._current_frames()
        frame = frames.get(self._worker_ident or -1)
        if frame is None:
            return
        if native and hasattr(threading, "settrace_all_threads"):
            self._kick_through_frames(frame)
        else:
            self._trace_frames(frame)

    def _kick_through_frames(self, frame: FrameType) -> None:
        """Python 3.12+: the worker's next line in a script frame does the kick, no ctypes needed.

        An `f_trace` alone never fires in a thread that has no trace function (a breaks-only run, a
        native-speed continue), so `threading.settrace_all_threads` gives every thread one for a
        moment; any thread but the worker drops it at its next call.
        """
        worker = self._worker_ident

        def first_event(event_frame: FrameType, event: str, arg: Any) -> Any:
            self._on_kick(event_frame)
            return self.trace_dispatch(event_frame, event, arg)

        def on_call(event_frame: FrameType, event: str, arg: Any) -> Any:
            if threading.get_ident() != worker:
                sys.settrace(None)
                return None
            return first_event(event_frame, event, arg)

        walk: FrameType | None = frame
        while walk is not None:
            if walk.f_code.co_filename == self.filename:
                walk.f_trace = first_event
                walk.f_trace_lines = True
            walk = walk.f_back
        mine = sys.gettrace()
        settrace_all_threads: Callable[[Any], None] = getattr(threading, "settrace_all_threads")  # noqa: B009 - 3.12+, mypy checks for 3.10
        settrace_all_threads(on_call)
        threading.settrace(None)  # not for threads started later
        sys.settrace(mine)  # nor for the calling thread

    def _on_kick(self, frame: FrameType) -> None:
        """In the worker, at its next trace event after a kick: trace as usual again."""
        self.native = False
        if self.botframe is None:
            self.botframe = frame
        sys.settrace(self.trace_dispatch)
        self._trace_frames(frame)

    def _trace_frames(self, frame: FrameType | None) -> None:
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                frame.f_trace = self.trace_dispatch
                frame.f_trace_lines = True
            frame = frame.f_back


_import_lock = threading.Lock()
_untraced_threads: set[int] = set()
_real_import: Callable[..., Any] | None = None


def _import_untraced(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> Any:
    """builtins.__import__ that runs library imports untraced in the script's thread."""
    assert _real_import is not None
    trace = sys.gettrace() if threading.get_ident() in _untraced_threads else None
    if trace is None or _imported(name, fromlist, level):
        return _real_import(name, globals, locals, fromlist, level)
    # Import machinery is never the script's code; tracing it only slows it (torch's
    # first optimizer imports torch._dynamo: seconds under a trace function).
    sys.settrace(None)
    try:
        return _real_import(name, globals, locals, fromlist, level)
    finally:
        sys.settrace(trace)


def _imported(name: str, fromlist: Any, level: int) -> bool:
    """Whether an import only looks up what is there already (torch's imports inside its functions,
    run at every hook registration and optimizer step): no module code to run, so no trace to drop,
    and turning the trace function off and on again costs more than the lookup (on 3.12+, where it
    re-instruments code, much more)."""
    if level != 0:
        return False
    module = sys.modules.get(name)
    if module is None:
        return False
    try:
        for item in fromlist or ():
            if not isinstance(item, str) or item == "*" or not hasattr(module, item):
                return False
    except Exception:
        return False
    return True


def begin_untraced_imports() -> None:
    """Make imports made by the calling thread run without the trace function."""
    global _real_import
    with _import_lock:
        if not _untraced_threads:
            _real_import = builtins.__import__
            builtins.__import__ = _import_untraced
        _untraced_threads.add(threading.get_ident())


def end_untraced_imports() -> None:
    """Undo begin_untraced_imports for the calling thread (the last one restores __import__)."""
    global _real_import
    with _import_lock:
        _untraced_threads.discard(threading.get_ident())
        if not _untraced_threads and _real_import is not None:
            if builtins.__import__ is _import_untraced:
                builtins.__import__ = _real_import
            _real_import = None


class _Kicker:
    """Installs a C-level trace function on another thread's state (CPython only)."""

    _TRACEFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)

    def __init__(self, set_trace: Any, get_state: Any) -> None:
        self._set_trace = set_trace
        self._get_state = get_state
        self._callbacks: list[Any] = []
        self._target: Callable[[FrameType], None] | None = None

    @classmethod
    def create(cls) -> _Kicker | None:
        # 3.12+ pauses through threading.settrace_all_threads (see _kick_through_frames).
        if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
            return None
        try:
            api = ctypes.pythonapi
            set_trace = api._PyEval_SetTrace
            set_trace.argtypes = [ctypes.c_void_p, cls._TRACEFUNC, ctypes.c_void_p]
            set_trace.restype = ctypes.c_int
            get_state = api.PyThreadState_Get
            get_state.restype = ctypes.c_void_p
        except (AttributeError, OSError):
            return None
        return cls(set_trace, get_state)

    def thread_state(self) -> int:
        """The calling thread's PyThreadState pointer."""
        return int(self._get_state())

    def kick(self, thread_state: int, target: Callable[[FrameType], None]) -> None:
        """At that thread's next trace event, call target(frame) there."""

        def on_event(_obj: int, frame_pointer: int, _what: int, _arg: int) -> int:
            frame = ctypes.cast(frame_pointer, ctypes.py_object).value
            try:
                target(frame)
            except Exception:  # never let a failed kick take the script down
                sys.settrace(None)
            return 0

        # A callback must outlive any use of it by the other thread: keep them all (kicks are rare).
        callback = self._TRACEFUNC(on_event)
        self._callbacks.append(callback)
        self._set_trace(thread_state, callback, None)
