"""The flip-book's frames at one fixed size, and an animated GIF or APNG of them beside the numbered frames.

Pillow pads each PNG frame (white, top-left kept) to the biggest frame's size; SVG
frames get the biggest frame's width, height and viewBox, so the picture stays where
it is and the page around it grows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from tui.errors import BadInput

FRAME_MS = 1200
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="[^"]*"')


def same_size(paths: Sequence[Path], fmt: str) -> tuple[int, int] | None:
    """Give every frame the biggest frame's size; returns that size (None for formats left as they are)."""
    if fmt == "png":
        from PIL import Image  # deferred: only the flip-book needs Pillow

        sizes = []
        for path in paths:
            with Image.open(path) as image:
                sizes.append(image.size)
        width, height = max(size[0] for size in sizes), max(size[1] for size in sizes)
        for path, size in zip(paths, sizes):
            if size != (width, height):
                with Image.open(path) as image:
                    frame = Image.new("RGB", (width, height), "white")
                    frame.paste(image.convert("RGB"), (0, 0))
                frame.save(path)
        return width, height
    if fmt == "svg":
        texts = [path.read_text(encoding="utf-8") for path in paths]
        found = [_SIZE.search(text) for text in texts]
        if not all(found):
            return None
        width = max(float(match.group(1)) for match in found if match)
        height = max(float(match.group(2)) for match in found if match)
        box = f'<svg width="{width:g}pt" height="{height:g}pt" viewBox="0.00 0.00 {width:g} {height:g}"'
        for path, text, match in zip(paths, texts, found):
            if match is not None:
                path.write_text(text[: match.start()] + box + text[match.end() :], encoding="utf-8")
        return round(width), round(height)
    return None


def animate(paths: Sequence[Path], output: Path, kind: str) -> Path:
    """OUT stem + `.gif` or `.png` (APNG: `-anim.png`), one frame per numbered PNG."""
    if not paths or paths[0].suffix.lower() != ".png":
        raise BadInput("--animate needs PNG frames: name the output .png (or --format png)")
    from PIL import Image  # deferred: only the flip-book needs Pillow

    frames = [Image.open(path).convert("RGB") for path in paths]
    target = output.with_name(f"{output.stem}.gif" if kind == "gif" else f"{output.stem}-anim.png")
    try:
        frames[0].save(target, save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0)
    except OSError as error:
        raise BadInput(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        for frame in frames:
            frame.close()
    return target
