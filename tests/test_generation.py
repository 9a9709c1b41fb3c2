"""Every option combination bakes into a clean project: rendered, parseable, lint-free, typed."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.helpers import MATRIX, matrix_id, run, text_files

LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")
CASES = [pytest.param(overrides, id=matrix_id(overrides)) for overrides in MATRIX]

FEATURE_FILES = {
    "redis": ["src/acme_users/cache.py", "tests/integration/test_cache.py"],
    "kafka": [
        "src/acme_users/events.py",
        "src/acme_users/worker.py",
        "src/acme_users/users/events.py",
        "tests/integration/test_events.py",
        "tests/support/kafka.py",
        "migrations/versions/2026_11_22_0001-0002_create_user_events.py",
    ],
    "github": [".github/workflows/ci.yml", ".github/dependabot.yml"],
    "gitlab": [".gitlab-ci.yml", "renovate.json"],
}


def enabled_features(overrides: dict[str, str]) -> set[str]:
    ci = overrides.get("ci", "github+gitlab")
    features = {name for name in ("github", "gitlab") if name in ci}
    features |= {name for name in ("redis", "kafka") if overrides.get(f"use_{name}", "y") == "y"}
    return features


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
    overrides = request.node.callspec.params["project"]
    enabled = enabled_features(overrides)
    for feature, paths in FEATURE_FILES.items():
        for path in paths:
            assert (project / path).exists() == (feature in enabled), path


def test_disabled_services_leave_no_trace(project: Path, request: pytest.FixtureRequest) -> None:
    enabled = enabled_features(request.node.callspec.params["project"])
    for service in {"redis", "kafka"} - enabled:
        mentions = [path for path, text in text_files(project).items() if service in text.lower()]
        assert mentions == [], f"{service} is off but mentioned in {mentions}"


def test_ruff_and_strict_mypy_pass(project: Path) -> None:
    for command in (
        ("uv", "sync", "--quiet"),
        ("uv", "run", "ruff", "check", "."),
        ("uv", "run", "ruff", "format", "--check", "."),
        ("uv", "run", "mypy"),
    ):
        result = run(project, *command)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"


def test_unit_tests_pass_without_docker(project: Path) -> None:
    result = run(
        project,
        *("uv", "run", "pytest", "-m", "not integration", "-p", "no:cacheprovider"),
        env={"DOCKER_HOST": "tcp://127.0.0.1:9"},  # nothing listens there
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ passed", result.stdout)
