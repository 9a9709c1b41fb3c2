"""Generated projects can follow the template later with cruft (cookiecutter + git)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import TEMPLATE_DIR, venv_tool


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return venv_tool("cruft", *args, cwd=cwd)


def git(*args: str, cwd: Path) -> None:
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    result = command("git", *identity, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not (TEMPLATE_DIR / ".git").exists(), reason="cruft needs the template in git")
def test_cruft_creates_checks_and_updates_a_project(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=shutil.ignore_patterns(".venv"))
    git("add", "-A", cwd=template)
    git("commit", "-q", "--allow-empty", "-m", "the template as tested", cwd=template)
    created = cruft("create", str(template), "--no-input", "--output-dir", "out", cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "out" / "acme-users"
    record = json.loads((project / ".cruft.json").read_text())
    assert record["context"]["cookiecutter"]["package_name"] == "acme_users"
    assert cruft("check", cwd=project).returncode == 0
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "baked", cwd=project)

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line the template gained later.\n")
    git("commit", "-q", "-am", "template change", cwd=template)

    assert cruft("check", cwd=project).returncode != 0  # behind the template now
    updated = cruft("update", "--skip-apply-ask", "--allow-untracked-files", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (project / "README.md").read_text().endswith("A line the template gained later.\n")
