"""Every option combination bakes into a clean project: rendered, parseable, lint-free, typed."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hooks.post_gen_project import FEATURES, matching_paths, whole_word
from tests.helpers import MATRIX, answers_of, matrix_id, run, text_files, venv_tool

LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")
CASES = [pytest.param(overrides, id=matrix_id(overrides)) for overrides in MATRIX]


@pytest.fixture
def project(request: pytest.FixtureRequest, bake_once: Callable[..., Path]) -> Path:
    overrides: dict[str, str] = request.param
    return bake_once(matrix_id(overrides), **overrides)


pytestmark = pytest.mark.parametrize("project", CASES, indirect=True)


def test_nothing_is_left_unrendered(project: Path) -> None:
    leftovers = {
        path: match.group(0)
        for path, text in text_files(project).items()
        if (match := LEFTOVER.search(text))
    }
    assert leftovers == {}


def test_config_files_parse(project: Path) -> None:
    files = text_files(project)
    tomllib.loads(files["pyproject.toml"])
    for path, text in files.items():
        if path.endswith((".yml", ".yaml")):
            assert yaml.safe_load(text), path
        if path.endswith(".json"):
            json.loads(text)


def test_files_of_disabled_features_are_absent(
    project: Path, request: pytest.FixtureRequest
) -> None:
    answers = answers_of(request.node.callspec.params["project"])
    for name, feature in FEATURES.items():
        for pattern in feature.paths:
            found = matching_paths(project, pattern, answers["package_name"])
            assert bool(found) == feature.is_on(answers), f"{name}: {pattern}"


def test_disabled_features_leave_no_trace(project: Path, request: pytest.FixtureRequest) -> None:
    answers = answers_of(request.node.callspec.params["project"])
    files = text_files(project).items()
    for name, feature in FEATURES.items():
        if feature.is_on(answers):
            continue
        for word in map(whole_word, feature.words):
            mentions = [path for path, text in files if word.search(f"{path}\n{text}")]
            assert mentions == [], f"{name} is off but {word.pattern} is in {mentions}"


def test_ruff_and_strict_mypy_pass(project: Path, mypy_cache: Path) -> None:
    for command in (
        ("uv", "sync", "--quiet", "--locked"),  # the lock the bake created fits
        ("uv", "run", "ruff", "check", "."),
        ("uv", "run", "ruff", "format", "--check", "."),
        ("uv", "run", "mypy"),
        # the dev dependencies hold pre-commit, and its config is valid
        ("uv", "run", "pre-commit", "validate-config", ".pre-commit-config.yaml"),
    ):
        result = run(project, *command, env={"MYPY_CACHE_DIR": str(mypy_cache)})
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"


def test_unit_tests_pass_without_docker(project: Path) -> None:
    result = run(
        project,
        *("uv", "run", "pytest", "-m", "not integration", "-p", "no:cacheprovider"),
        env={"DOCKER_HOST": "tcp://127.0.0.1:9"},  # nothing listens there
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ passed", result.stdout)


def test_the_workflow_passes_zizmor(project: Path) -> None:
    """zizmor's audits that need no network, at its default severity: actions pinned by
    commit, checkouts that keep no credentials, Dependabot's cooldown."""
    if not (project / ".github").exists():
        pytest.skip("this bake has no GitHub workflow")
    audited = venv_tool("zizmor", "--offline", ".github", cwd=project)
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_the_dockerfile_passes_hadolint(project: Path) -> None:
    linted = venv_tool("hadolint", "Dockerfile", cwd=project)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_every_module_the_code_imports_is_declared(project: Path) -> None:
    """deptry over src/ with its every rule (the project's config), then over the tests too,
    where importing a test dependency is the point (DEP004)."""
    deptry = ("uv", "run", "--quiet", "--with", "deptry", "deptry", ".")
    for extra in ((), ("--exclude", r"\.venv", "--ignore", "DEP004")):
        checked = run(project, *deptry, *extra)
        assert checked.returncode == 0, checked.stdout + checked.stderr
