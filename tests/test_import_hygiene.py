"""Each headless or UI module, imported alone in a fresh interpreter, leaves torch (and, below the UI, Textual) out.

The layout's rule (a module's path says what it may import) is also an import-linter contract in
pyproject.toml; this test checks what actually loads at run time, deferred imports included.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

NEVER_TORCH = ("torch", "torchviz")
NEVER_TEXTUAL = ("textual",)


def modules_under(package: str) -> list[str]:
    folder = REPO / Path(*package.split("."))
    names = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


CASES = (
    [(module, NEVER_TORCH + NEVER_TEXTUAL) for module in modules_under("tui.steps") + modules_under("tui.render")]
    + [(module, NEVER_TORCH) for module in modules_under("tui.ui")]
    + [("tui.cli", NEVER_TORCH + NEVER_TEXTUAL), ("tui.lessons", NEVER_TORCH + NEVER_TEXTUAL), ("tui.engine.client", NEVER_TORCH)]
)


@pytest.mark.parametrize(("module", "forbidden"), CASES, ids=[module for module, _ in CASES])
def test_importing_a_module_alone_loads_nothing_it_must_not(module: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(' '.join(name for name in {forbidden!r} if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {module} loaded {result.stdout.strip()}"


def test_gradstep_version_and_lessons_load_no_torch() -> None:
    """The commands that only read text answer without torch: --version and the lesson list."""
    code = (
        "import sys, contextlib, io\nfrom tui.cli import main\n"
        "for argv in (['--version'], ['lessons']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: main(argv)\n        except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
