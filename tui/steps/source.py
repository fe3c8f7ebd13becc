"""A script's text as Python reads it: a UTF-8 BOM or a PEP 263 coding line decides the encoding.

The one home of this rule, for the engine (which runs the script) and the commands (which show it).
Standard library only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tui.errors import BadInput


def read_source(path: Path) -> str:
    """The script's text, decoded as `python script.py` would decode it, or BadInput saying why not."""
    if path.is_dir():
        raise BadInput(f"{path} is a directory, not a script: give the path of a .py file in it")
    if not path.exists():
        raise BadInput(f"no such script: {path}")
    if not path.is_file():
        raise BadInput(f"not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:  # an unknown coding, or bytes not in it
        reason = error.msg if isinstance(error, SyntaxError) else str(error)
        raise BadInput(f"{path} cannot be decoded as Python source: {reason}") from None


def null_byte_line(source: str) -> int:
    """The line of the first NUL byte in the source (1 when there is none), for its SyntaxError."""
    position = source.find("\0")
    return 1 if position < 0 else source.count("\n", 0, position) + 1
