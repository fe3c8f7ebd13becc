"""Text from a recording or a script, made safe to show: control characters become visible escapes.

A recording someone sent is data. Its strings (source lines, tensor and node names, stdout,
exception messages, the header's device) reach a terminal through `show`, `diff` and the app, and
a raw ESC there can set the window title or clear the screen. Every such string goes through
`visible()` before it is shown: C0 and C1 control characters, DEL, the bidirectional overrides
(Trojan Source) and lone surrogates become `\\x1b`, `\\u202e`, `\\udcff`, so a reader sees exactly
what the file holds. Newlines and tabs stay where the text is shown on several lines.
The one home of this rule; it never marks anything up (callers build Rich / Textual Text from it).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, the bidi embeddings/overrides/isolates, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_INLINE_OK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`); newlines and tabs kept when multiline."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _UNSAFE_INLINE_OK if multiline else _UNSAFE
    if pattern.search(text) is None:  # the common case: nothing to do, no copy
        return text
    return pattern.sub(_escape, text)


def visible_lines(text: str) -> str:
    """Multi-line text (stdout, a source file): newlines and tabs kept, every other control made visible."""
    return visible(text, multiline=True)
