"""The process as `python script.py` would give it to the script, for the length of one run.

`__main__` is a fresh module with `__file__` set, `sys.argv` is `[script]` and the script's
folder is `sys.path[0]`; its stdout/stderr go to the run's buffer; torch's default device
is the chosen one in this thread only. Everything is put back afterwards.
"""

from __future__ import annotations

import builtins
import sys
import threading
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch  # the default device is set for the script's thread

from tui.engine import output
from tui.engine.tracer import begin_untraced_imports, end_untraced_imports


_lock = threading.Lock()
_runs = 0
_original: tuple[list[str], types.ModuleType | None] = ([], None)


@contextmanager
def script_environment(
    script: Path, filename: str, device: str, buffer: output.OutputBuffer, traced: bool
) -> Iterator[types.ModuleType]:
    """Yield the script's `__main__` module, with the process set up around it."""
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    global _runs, _original
    script_dir = str(script.resolve().parent)
    with _lock:
        if _runs == 0:
            _original = (sys.argv, sys.modules.get("__main__"))
        _runs += 1
        sys.argv = [str(script)]
        sys.path.insert(0, script_dir)
        sys.modules["__main__"] = module
    output.install()
    output.route(threading.get_ident(), buffer)
    if traced:
        begin_untraced_imports()
    if device != "cpu":  # torch.set_default_device is thread-local: the UI thread stays on CPU
        torch.set_default_device(device)
    try:
        yield module
    finally:
        if device != "cpu":
            torch.set_default_device(None)
        if traced:
            end_untraced_imports()
        output.unroute(buffer)
        output.uninstall()
        with _lock:
            _runs -= 1
            if script_dir in sys.path:
                sys.path.remove(script_dir)
            # The process's own argv and __main__ come back when the last run ends (a
            # restart may start a session before the previous one has finished).
            if _runs == 0:
                sys.argv = _original[0]
                if _original[1] is not None:
                    sys.modules["__main__"] = _original[1]
