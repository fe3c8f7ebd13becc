"""A lesson's progress in predict mode: one small JSON file per lesson under the user's data directory.

`GRADSTEP_DATA_DIR` points it elsewhere (the tests point it at a temporary folder).
Nothing else of gradstep's is written there. A missing or unreadable file is no progress.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

DATA_DIR_VARIABLE = "GRADSTEP_DATA_DIR"
FORMAT = 1


def data_dir() -> Path:
    """Where gradstep keeps progress: $GRADSTEP_DATA_DIR, else the platform's user data directory."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override:
        return Path(override)
    import platformdirs  # only when progress is read or written

    return Path(platformdirs.user_data_dir("gradstep", appauthor=False))


def progress_path(lesson_id: str) -> Path:
    """The progress file of one lesson."""
    safe = "".join(character for character in lesson_id if character.isalnum() or character in "-_") or "lesson"
    return data_dir() / "progress" / f"{safe}.json"


def read_progress(lesson_id: str) -> dict[str, Any] | None:
    """The lesson's saved progress, or None (never raises for a missing or broken file)."""
    try:
        data = json.loads(progress_path(lesson_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(key), int) for key in ("right", "asked")):
        return None
    return data


def save_progress(lesson_id: str, *, right: int, asked: int, skipped: int, finished: bool) -> Path:
    """Write this session's score; `done` and the best score so far are kept from earlier sessions."""
    earlier = read_progress(lesson_id) or {}
    best = earlier.get("best") if isinstance(earlier.get("best"), dict) else None
    if best is None or _ratio(right, asked) > _ratio(best.get("right", 0), best.get("asked", 0)):
        best = {"right": right, "asked": asked}
    data = {
        "format": FORMAT,
        "lesson": lesson_id,
        "right": right,
        "asked": asked,
        "skipped": skipped,
        "done": bool(finished or earlier.get("done")),
        "best": best,
    }
    path = progress_path(lesson_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a crash never leaves half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".progress-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def progress_note(lesson_id: str) -> str:
    """What the picker says of a lesson: `done · predicted 5/7 right`, or '' when never tried."""
    data = read_progress(lesson_id)
    if data is None:
        return ""
    parts = ["done" if data.get("done") else "started"]
    if data["asked"]:
        parts.append(f"predicted {data['right']}/{data['asked']} right")
    return " · ".join(parts)


def _ratio(right: Any, asked: Any) -> float:
    try:
        return float(right) / float(asked) if asked else -1.0
    except (TypeError, ValueError):
        return -1.0


class ProgressStore:
    """What the app is handed (tui.ui never imports this module): save and note by lesson id."""

    def save(self, lesson_id: str, *, right: int, asked: int, skipped: int, finished: bool) -> None:
        save_progress(lesson_id, right=right, asked=asked, skipped=skipped, finished=finished)

    def note(self, lesson_id: str) -> str:
        return progress_note(lesson_id)
