"""Save PNG screenshots of the app on a recording: `python -m tests.tools.screenshots REC STEP... -o DIR`.

For looking at what a learner sees (issue checklists ask for 160×48, 120×36 and 80×24):
replays the recording (no code runs), goes to each step, saves an SVG through
Textual's `save_screenshot` and converts it to PNG with rsvg-convert (librsvg2-bin), which
keeps the terminal's columns, or cairosvg where rsvg-convert is missing (its text can drift).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
from pathlib import Path

SIZES = ((160, 48), (120, 36), (80, 24))


async def shoot(recording_path: Path, steps: list[int], out: Path, sizes, theme: str | None, keys: list[str]) -> list[Path]:
    from tui.steps.recording import load_recording
    from tui.ui.app import GradstepApp

    recording = load_recording(recording_path)
    written = []
    for width, height in sizes:
        app = GradstepApp(recording=recording)
        async with app.run_test(size=(width, height)) as pilot:
            if theme:
                app.theme = theme
            await pilot.pause()
            for step in steps:
                app.history.go(step)
                app.refresh_view()
                for key in keys:
                    await pilot.press(key)
                await pilot.pause(0.2)
                stem = f"{recording_path.stem}-s{step}-{width}x{height}{'-' + theme if theme else ''}"
                svg = out / f"{stem}.svg"
                app.save_screenshot(filename=svg.name, path=str(out))
                png = svg.with_suffix(".png")
                to_png(svg, png)
                written.append(png)
    return written


def to_png(svg: Path, png: Path) -> None:
    """SVG to PNG: rsvg-convert if installed, else cairosvg."""
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True)
        return
    import cairosvg

    cairosvg.svg2png(url=str(svg), write_to=str(png))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recording", type=Path)
    parser.add_argument("steps", type=int, nargs="+")
    parser.add_argument("-o", "--out", type=Path, default=Path("/tmp/shots"))
    parser.add_argument("--size", action="append", help="WxH (default: the three sizes)")
    parser.add_argument("--theme")
    parser.add_argument("--keys", nargs="*", default=[])
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.size] if args.size else SIZES
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(args.recording, args.steps, args.out, sizes, args.theme, args.keys)):
        print(path)


if __name__ == "__main__":
    main()
