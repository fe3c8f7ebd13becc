"""Capture what the script writes to stdout/stderr, per step, without touching the terminal.

sys.stdout is one object for the whole process while the app draws from another
thread, so the streams are replaced by routers that send writes from the session's
threads (the worker, autograd threads running the script's hooks) to the session's
buffer and everything else to the stream they replaced.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, TextIO

_lock = threading.Lock()
_buffers: dict[int, OutputBuffer] = {}
_installs = 0
_originals: tuple[TextIO, TextIO, TextIO | None, TextIO | None] | None = None


class OutputBuffer:
    """What the script wrote since the previous step."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)

    def take(self) -> str:
        """Everything written since the last take."""
        with self._lock:
            text = "".join(self._parts)
            self._parts.clear()
        return text


class _Router:
    """Stands in for sys.stdout / sys.stderr: routes by the writing thread."""

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def _buffer(self) -> OutputBuffer | None:
        return _buffers.get(threading.get_ident())

    def write(self, text: str) -> int:
        buffer = self._buffer()
        if buffer is None:
            return self._original.write(text)
        buffer.write(str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._buffer() is None:
            self._original.flush()

    def isatty(self) -> bool:
        return False if self._buffer() is not None else self._original.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def install() -> None:
    """Put the routers in place (counted: the last uninstall restores the streams)."""
    global _installs, _originals
    with _lock:
        if _installs == 0:
            _originals = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
            sys.stdout = _Router(sys.stdout)
            sys.stderr = _Router(sys.stderr)
            # A script that puts `sys.stdout = sys.__stdout__` back still writes to its buffer.
            # (setattr: typeshed marks them final; Python lets them be replaced)
            setattr(sys, "__stdout__", sys.stdout)  # noqa: B010
            setattr(sys, "__stderr__", sys.stderr)  # noqa: B010
        _installs += 1


def uninstall() -> None:
    """Restore the streams replaced by the first install."""
    global _installs, _originals
    with _lock:
        _installs -= 1
        if _installs == 0 and _originals is not None:
            # Unconditionally: a script that set sys.stdout to its own file must not keep it.
            sys.stdout, sys.stderr = _originals[0], _originals[1]
            setattr(sys, "__stdout__", _originals[2])  # noqa: B010
            setattr(sys, "__stderr__", _originals[3])  # noqa: B010
            _originals = None


def _forget_routes_in_child() -> None:
    """A forked child (a DataLoader worker) writes to the real streams, not the parent's buffers."""
    _buffers.clear()


os.register_at_fork(after_in_child=_forget_routes_in_child)


def route(thread_ident: int, buffer: OutputBuffer) -> None:
    """Send this thread's writes to the buffer."""
    _buffers[thread_ident] = buffer


def unroute(buffer: OutputBuffer) -> None:
    """Stop sending any thread's writes to the buffer."""
    for ident, routed in list(_buffers.items()):
        if routed is buffer:
            _buffers.pop(ident, None)
