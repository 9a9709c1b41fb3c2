"""The default bake, compared file by file with tests/snapshots/default/.

Every template change shows up as a reviewable diff there. After an intended change:
    uv run pytest tests/test_snapshot.py --update-snapshot
Snapshot files carry a `.snap` suffix so that no tool mistakes them for live code.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from tests.helpers import SNAPSHOT_DIR, bake, text_files

SUFFIX = ".snap"


def read_snapshot() -> dict[str, str]:
    return {
        path.relative_to(SNAPSHOT_DIR).as_posix().removesuffix(SUFFIX): path.read_text()
        for path in sorted(SNAPSHOT_DIR.rglob(f"*{SUFFIX}"))
    }


def write_snapshot(files: dict[str, str]) -> None:
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)
    for relative, text in files.items():
        target = SNAPSHOT_DIR / f"{relative}{SUFFIX}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_default_bake_matches_the_snapshot(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    baked = text_files(bake(tmp_path))
    if request.config.getoption("--update-snapshot"):
        write_snapshot(baked)
    expected = read_snapshot()

    assert sorted(baked) == sorted(expected), "files added or removed"
    diffs = [
        "".join(
            difflib.unified_diff(
                expected[path].splitlines(keepends=True),
                baked[path].splitlines(keepends=True),
                f"snapshot/{path}",
                f"baked/{path}",
            )
        )
        for path in sorted(baked)
        if baked[path] != expected[path]
    ]
    assert not diffs, "the default bake differs from the snapshot:\n" + "\n".join(diffs)
