"""The first frame painted before Textual loads (tui.commands.splash): what it writes, and when it writes nothing."""

from __future__ import annotations

import io

from tui.commands.splash import ENTER, LEAVE, Splash, frame


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_frame_numbers_the_source_under_a_starting_bar_and_fits_the_terminal():
    source = "import torch\n\tx = torch.ones(3)  # tabbed\n" + "\n".join(f"y{n} = {n}" for n in range(100))
    painted = frame(source, "seed_sgd.py", columns=40, rows=10)
    assert painted.startswith(ENTER)
    rows = painted[len(ENTER):].split("\r\n")
    assert "starting…" in rows[0] and "seed_sgd.py" in rows[0]
    body = [row for row in rows[1:] if row]
    assert len(body) == 8  # rows - 2: room for the bar and a last line
    assert body[0].endswith("import torch") and "\x1b[2m  1\x1b[0m" in body[0]
    assert "    x = torch.ones(3)" in body[1]  # the tab expanded, not sent raw
    assert all(len(row.replace("\x1b[2m", "").replace("\x1b[0m", "")) <= 40 for row in body)


def test_control_characters_in_the_source_are_shown_not_sent():
    painted = frame('print("\x1b]0;pwned\x07\x1b[2J")\n', "evil.py", columns=80, rows=5)
    body = painted[len(ENTER):].split("\r\n", 1)[1]
    assert "\x1b]" not in body and "\x07" not in body
    assert "\\x1b]0;pwned\\x07" in body


def test_nothing_is_painted_off_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    piped = io.StringIO()
    Splash(piped).paint("x = 1\n", "x.py")
    assert piped.getvalue() == ""
    monkeypatch.setenv("TERM", "dumb")
    dumb = FakeTerminal()
    Splash(dumb).paint("x = 1\n", "x.py")
    assert dumb.getvalue() == ""


def test_clear_gives_the_screen_back_when_the_app_does_not_start(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GRADSTEP_NO_SPLASH", raising=False)
    tty = FakeTerminal()
    splash = Splash(tty)
    splash.paint("x = 1\n", "x.py")
    assert tty.getvalue().startswith(ENTER) and "x = 1" in tty.getvalue()
    splash.clear()
    assert tty.getvalue().endswith(LEAVE)
    splash.clear()  # twice is harmless
    assert tty.getvalue().count(LEAVE) == 1
