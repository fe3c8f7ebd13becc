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


@contextmanager
def script_environment(
    script: Path, filename: str, device: str, buffer: output.OutputBuffer, traced: bool
) -> Iterator[types.ModuleType]:
    """Yield the script's `__main__` module, with the process set up around it."""
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    saved_argv, saved_main = sys.argv, sys.modules.get("__main__")
    script_dir = str(script.resolve().parent)
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
        sys.argv = saved_argv
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        if script_dir in sys.path:
            sys.path.remove(script_dir)
