"""The process as `python script.py` would give it to the script, for the length of one run.

`__main__` is a fresh module with `__file__` set, `sys.argv` is `[script, *argv]` and the script's
folder is `sys.path[0]`; its stdout/stderr go to the run's buffer; torch's default device
is the chosen one in this thread only. Everything is put back afterwards: argv, `__main__`,
sys.path, the working directory (scripts often chdir to their own folder) and the streams;
modules the script imported from its own folder are forgotten, so a restart after an edit
runs the edited code.
"""

from __future__ import annotations

import builtins
import os
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch  # the default device is set for the script's thread

from tui.engine import output
from tui.engine.tracer import begin_untraced_imports, end_untraced_imports

_lock = threading.Lock()
_runs = 0
_original: tuple[list[str], types.ModuleType | None, str, list[str]] = ([], None, "", [])


def _installed_prefixes() -> tuple[str, ...]:
    """Where installed packages live (a venv may sit inside the script's folder)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(__file__))}
    return tuple(os.path.abspath(root).rstrip(os.sep) + os.sep for root in roots)


def _local_modules(folder: str, before: set[str]) -> list[str]:
    """Modules imported since `before` from the script's own folder (not torch, not gradstep)."""
    prefix = folder.rstrip(os.sep) + os.sep
    installed = _installed_prefixes()
    local = []
    for name, module in list(sys.modules.items()):
        if name in before or name == "__main__":
            continue
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        path = os.path.abspath(path)
        if path.startswith(prefix) and not path.startswith(installed) and "site-packages" not in path:
            local.append(name)
    return local


@contextmanager
def script_environment(
    script: Path, filename: str, device: str, buffer: output.OutputBuffer, traced: bool,
    argv: tuple[str, ...] = (),
) -> Iterator[types.ModuleType]:
    """Yield the script's `__main__` module, with the process set up around it."""
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    global _runs, _original
    script_dir = str(script.resolve().parent)
    with _lock:
        if _runs == 0:
            _original = (sys.argv, sys.modules.get("__main__"), os.getcwd(), list(sys.path))
        _runs += 1
        modules_before = set(sys.modules)
        sys.argv = [str(script), *argv]
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
            for name in _local_modules(script_dir, modules_before):
                sys.modules.pop(name, None)
            # The process's own argv, __main__, path and folder come back when the last run
            # ends (a restart may start a session before the previous one has finished).
            if _runs == 0:
                sys.argv = _original[0]
                if _original[1] is not None:
                    sys.modules["__main__"] = _original[1]
                sys.path[:] = _original[3]
                try:
                    os.chdir(_original[2])
                except OSError:  # the folder we started in is gone: stay where the script left us
                    pass
