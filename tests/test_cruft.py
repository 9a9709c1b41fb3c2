"""Generated projects can follow the template later with cruft (cookiecutter + git)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TEMPLATE_DIR


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "cruft"
    return subprocess.run(
        [str(executable), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(not (TEMPLATE_DIR / ".git").exists(), reason="cruft needs the template in git")
def test_cruft_creates_a_project_that_tracks_the_template(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=shutil.ignore_patterns(".venv"))
    created = cruft("create", str(template), "--no-input", "--output-dir", "out", cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "out" / "acme-users"

    record = json.loads((project / ".cruft.json").read_text())
    checked = cruft("check", cwd=project)

    assert record["context"]["cookiecutter"]["package_name"] == "acme_users"
    assert (project / "src" / "acme_users" / "main.py").exists()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "up to date" in checked.stdout
