"""`gradstep SCRIPT`'s first paint, beside torch's import time (not collected by pytest).

1. `python -c "import torch"`: what the engine's child pays before its first step.
2. `gradstep SCRIPT` in a real terminal (tmux, 120x36, when tmux is there): from the command's start to
   the numbered source on screen (the splash, painted before Textual is imported: target <= 0.5 s),
   and to the app's own first frame (its footer).
3. The app on a script, headless: from the process's start to the first paint of the source
   with the "starting…" state (target <= 0.5 s: the app never imports torch), then to the
   first step (the child has imported torch and compiled the script).

Usage: .venv/bin/python tests/benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "scripts" / "seed_sgd.py"

APP = """
import asyncio, sys, time
started = float(sys.argv[1])
from pathlib import Path
from tui.commands.app import live_target
from tui.ui.app import GradstepApp

async def main():
    app = GradstepApp(live=live_target(Path(sys.argv[2])))
    async with app.run_test(size=(120, 40)) as pilot:
        while app.main_screen is None or not app.main_screen.ready:
            await asyncio.sleep(0.002)
        await pilot.pause()
        painted = time.time() - started
        status = app.status
        torch_loaded = "torch" in sys.modules
        while not app.history.steps:
            await asyncio.sleep(0.002)
        first_step = time.time() - started
        print(f"{painted:.4f} {first_step:.4f} {torch_loaded} {status!r}")

asyncio.run(main())
"""


def torch_import() -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.time() - started


def app_start() -> tuple[float, float, str]:
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", APP, repr(started), str(SCRIPT)], cwd=REPO, capture_output=True, text=True, check=True
    )
    painted, first_step, torch_loaded, status = done.stdout.split(maxsplit=3)
    assert torch_loaded == "False", "the app imported torch"
    return float(painted), float(first_step), status.strip()


def terminal_start() -> tuple[float, float] | None:
    """Seconds to the source on a tmux screen, and to the app's footer; None without tmux."""
    if shutil.which("tmux") is None:
        return None
    name = f"bench-{os.getpid()}"
    command = f"env PYTHONPATH={REPO} TERM=xterm-256color {sys.executable} -m tui {SCRIPT}"
    started = time.time()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "36", command], check=True)
    source = app = None
    try:
        while time.time() - started < 60 and app is None:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout
            now = time.time() - started
            if source is None and "var_1 = torch.tensor" in screen:
                source = now
            if "Next" in screen and "Help" in screen:
                app = now
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    if source is None or app is None:
        raise SystemExit("gradstep never showed its screen in tmux")
    return source, app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    imports, paints, firsts, statuses = [], [], [], set()
    splashes, frames = [], []
    for _ in range(args.repeat):
        imports.append(torch_import())
        measured = terminal_start()
        if measured is not None:
            splashes.append(measured[0])
            frames.append(measured[1])
        painted, first, status = app_start()
        paints.append(painted)
        firsts.append(first)
        statuses.add(status)
    print(f"medians of {args.repeat} runs (seconds from the process's start)")
    label = 'python -c "import torch"'
    print(f"{label:<44} {statistics.median(imports):>8.3f}")
    if splashes:
        print(f"{'tmux: source on screen (splash; target 0.5)':<44} {statistics.median(splashes):>8.3f}  max {max(splashes):.3f}")
        print(f"{'tmux: the app first frame (its footer)':<44} {statistics.median(frames):>8.3f}")
    print(f"{'headless app: first paint':<44} {statistics.median(paints):>8.3f}  max {max(paints):.3f}")
    print(f"{'gradstep SCRIPT: first step (torch in child)':<44} {statistics.median(firsts):>8.3f}")
    print(f"{'status at first paint':<44} {', '.join(sorted(statuses))}")


if __name__ == "__main__":
    main()
