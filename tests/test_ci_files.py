"""The generated CI files are valid and pre-pull the compose.yaml images before pytest."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import TEMPLATE_DIR, matrix_id, venv_tool

PRE_PULL = "uv run python -m tests.support.images pull"
PYTEST = "uv run pytest -n auto"
GITHUB_BAKES = [{}, {"ci": "github", "python_version": "3.12"}, {"ci_shards": "2"}]
GITLAB_BAKES = [{}, {"ci": "gitlab", "python_version": "3.12"}, {"ci_shards": "2"}]


def baked(bake_once: Callable[..., Path], overrides: dict[str, str]) -> Path:
    return bake_once(matrix_id(overrides), **overrides)


def commands(steps: list[Any]) -> list[str]:
    return [step if isinstance(step, str) else step.get("run", "") for step in steps]


@pytest.mark.parametrize("overrides", GITHUB_BAKES, ids=matrix_id)
def test_github_workflow(overrides: dict[str, str], bake_once: Callable[..., Path]) -> None:
    project = baked(bake_once, overrides)
    workflow = project / ".github" / "workflows" / "ci.yml"

    linted = venv_tool("actionlint", "-no-color", str(workflow))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for schema, path in (
        ("vendor.github-workflows", workflow),
        ("vendor.dependabot", project / ".github" / "dependabot.yml"),
    ):
        checked = venv_tool("check-jsonschema", "--builtin-schema", schema, str(path))
        assert checked.returncode == 0, checked.stdout + checked.stderr

    text = workflow.read_text()
    assert "${{ github.workflow }}-${{ github.ref }}" in text  # not eaten by Jinja
    assert "if: ${{ !cancelled() }}" in text
    jobs = yaml.safe_load(text)["jobs"]
    assert all("timeout-minutes" in job for job in jobs.values())
    assert "services" not in jobs["test"]
    test_steps = commands(jobs["test"]["steps"])
    shards = int(overrides.get("ci_shards", "1"))
    run_tests = f"{PYTEST} --junitxml=junit.xml"
    [upload] = [step for step in jobs["test"]["steps"] if "upload-artifact" in step.get("uses", "")]
    if shards == 1:
        assert "strategy" not in jobs["test"]
        assert upload["with"]["name"] == "junit"
    else:
        assert jobs["test"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
        assert jobs["test"]["strategy"]["fail-fast"] is False
        run_tests += f" --splits {shards} --group ${{{{ matrix.shard }}}}"
        assert upload["with"]["name"] == "junit-${{ matrix.shard }}"
    # The image tests run (TC_IMAGE), so the pre-pull takes the Dockerfile's base images too.
    assert test_steps.index(f"{PRE_PULL} --build") < test_steps.index(run_tests)
    [run_step] = [step for step in jobs["test"]["steps"] if step.get("run") == run_tests]
    assert run_step["env"]["TC_IMAGE"] == "1"
    python_version = overrides.get("python_version", "3.13")
    assert (project / ".python-version").read_text().strip() == python_version


@pytest.mark.parametrize("overrides", GITLAB_BAKES, ids=matrix_id)
def test_gitlab_ci(overrides: dict[str, str], bake_once: Callable[..., Path]) -> None:
    project = baked(bake_once, overrides)
    for schema, path in (
        ("vendor.gitlab-ci", project / ".gitlab-ci.yml"),
        ("vendor.renovate", project / "renovate.json"),
    ):
        checked = venv_tool("check-jsonschema", "--builtin-schema", schema, str(path))
        assert checked.returncode == 0, checked.stdout + checked.stderr

    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    test = config["test"]
    assert test["variables"] == {
        "DOCKER_HOST": "tcp://docker:2375",
        "DOCKER_TLS_CERTDIR": "",
        "TESTCONTAINERS_HOST_OVERRIDE": "docker",
    }
    [dind] = test["services"]
    assert dind["name"].startswith("docker:")
    assert dind["name"].endswith("-dind")
    script = commands(test["script"])
    run_tests = f"{PYTEST} --junitxml=junit.xml"
    if overrides.get("ci_shards", "1") == "1":
        assert "parallel" not in test
    else:
        assert test["parallel"] == int(overrides["ci_shards"])
        run_tests += ' --splits "$CI_NODE_TOTAL" --group "$CI_NODE_INDEX"'
    assert script.index(PRE_PULL) < script.index(run_tests)
    assert test["artifacts"]["reports"]["junit"] == "junit.xml"
    assert config["default"]["cache"]["key"]["files"] == ["uv.lock"]
    assert config["default"]["image"] == f"python:{overrides.get('python_version', '3.13')}-slim"


@pytest.mark.parametrize(("github", "gitlab"), [(GITHUB_BAKES[0], GITLAB_BAKES[0])])
def test_ci_installs_the_uv_the_project_pins(
    github: dict[str, str], gitlab: dict[str, str], bake_once: Callable[..., Path]
) -> None:
    """setup-uv reads `[tool.uv] required-version` when given no `version`; the GitLab job
    installs what it pins with pip (run here with `echo` in pip's place)."""
    project = baked(bake_once, github)
    pinned = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uv"]
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    setup_uv = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("astral-sh/setup-uv@")
    ]
    gitlab_project = baked(bake_once, gitlab)
    install = yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text())["default"][
        "before_script"
    ][0]
    echoed = subprocess.run(
        ["sh", "-c", install.replace("pip install --quiet", "echo")],
        cwd=gitlab_project,
        capture_output=True,
        text=True,
        check=True,
    )

    assert pinned["required-version"].startswith("==")
    assert len(setup_uv) == 2
    assert all("version" not in step.get("with", {}) for step in setup_uv)
    assert echoed.stdout.strip() == f"uv{pinned['required-version']}"


def test_the_template_lints_from_its_own_root() -> None:
    """ruff skips the generated project's folder (its name holds braces, which a glob reads
    as alternatives), and passes on the rest."""
    for command in (("check", "."), ("format", "--check", ".")):
        linted = venv_tool("ruff", *command, cwd=TEMPLATE_DIR)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_copied_pre_pull_keeps_to_ruffs_defaults(bake_once: Callable[..., Path]) -> None:
    """Teams copy tests/support/images.py beside the CI files into projects with ruff's own
    defaults (88 columns), and lint it there as the copied lint job does."""
    images = baked(bake_once, GITHUB_BAKES[0]) / "tests" / "support" / "images.py"
    for command in (("format", "--check"), ("check",)):
        checked = venv_tool("ruff", *command, "--isolated", str(images))
        assert checked.returncode == 0, checked.stdout + checked.stderr
