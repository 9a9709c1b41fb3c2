"""Bad answers fail in the pre-generation hook with one line on stderr and leave nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from hooks import pre_gen_project
from tests.helpers import bake, cookiecutter_cli, run, template_choices

CHOICES = template_choices()

VALID = {
    "project_slug": "acme-users",
    "package_name": "acme_users",
    "author_email": "jane@example.com",
    "python_version": "3.13",
    "postgres_version": "17",
    "use_redis": "y",
    "use_kafka": "y",
    "kafka_image": "apache/kafka-native",
    "object_storage": "none",
    "ci": "github+gitlab",
    "ci_shards": "1",
}

REJECTED = [
    pytest.param({"project_slug": "Acme Users"}, "is not kebab-case", id="project_slug:spaces"),
    pytest.param({"project_slug": "acme--users"}, "is not kebab-case", id="project_slug:double"),
    pytest.param(
        {"package_name": "acme-users"}, "not a lower-case Python identifier", id="package_name:dash"
    ),
    pytest.param({"package_name": "class"}, "is a Python keyword", id="package_name:keyword"),
    pytest.param({"package_name": "match"}, "is a Python keyword", id="package_name:softkeyword"),
    pytest.param({"package_name": "typing"}, "shadows the standard", id="package_name:typing"),
    pytest.param({"package_name": "asyncio"}, "shadows the standard", id="package_name:asyncio"),
    pytest.param({"package_name": "test"}, "shadows the standard", id="package_name:test"),
    pytest.param({"package_name": "tests"}, "shadows the standard", id="package_name:tests"),
    pytest.param(
        {"package_name": "a" * 41}, "is longer than 40 characters", id="package_name:too-long"
    ),
    pytest.param({"author_email": "jane.example.com"}, "is not an email", id="author_email:no-at"),
    pytest.param({"author_email": "jane@localhost"}, "is not an email", id="author_email:no-tld"),
    pytest.param(
        {"use_kafka": "n", "kafka_image": "confluentinc/cp-kafka"},
        "was chosen but use_kafka is 'n'",
        id="kafka_image:without-kafka",
    ),
    *(
        pytest.param(
            {"ci_shards": shards}, "is not a whole number from 1 to 20", id=f"ci_shards:{id_}"
        )
        for shards, id_ in (("0", "zero"), ("02", "leading-zero"), ("two", "word"), ("21", "over"))
    ),
    pytest.param(
        {"ci": "none", "ci_shards": "2"}, "was chosen but ci is 'none'", id="ci_shards:without-ci"
    ),
]


@pytest.mark.parametrize(("overrides", "message"), REJECTED)
def test_first_error_names_the_bad_answer(overrides: dict[str, str], message: str) -> None:
    error = pre_gen_project.first_error({**VALID, **overrides}, CHOICES)
    assert error is not None
    assert message in error


def test_valid_answers_pass() -> None:
    assert pre_gen_project.first_error(VALID, CHOICES) is None


def test_an_answer_outside_its_choices_is_refused() -> None:
    assert pre_gen_project.first_error({**VALID, "ci": "jenkins"}, CHOICES) == (
        "ci 'jenkins' is not one of: github+gitlab, github, gitlab, none"
    )


@pytest.mark.parametrize(("overrides", "message"), REJECTED)
def test_bake_fails_with_one_line_and_leaves_nothing(
    overrides: dict[str, str],
    message: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, **overrides)

    stderr = capfd.readouterr().err
    assert stderr.count("\n") == 1
    assert stderr.startswith("ERROR: ")
    assert message in stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_a_bake_comes_with_its_lock(tmp_path: Path) -> None:
    project = bake(tmp_path)

    assert (project / "uv.lock").is_file()
    checked = run(project, "uv", "lock", "--check")  # the lock matches pyproject.toml
    assert checked.returncode == 0, checked.stderr


def test_without_uv_the_bake_says_in_one_line_how_to_create_the_lock(tmp_path: Path) -> None:
    without_uv = {**os.environ, "PATH": os.pathsep.join(("/usr/bin", "/bin"))}
    baked = cookiecutter_cli(tmp_path, {}, env=without_uv)

    assert baked.returncode == 0, baked.stderr
    assert baked.stderr.count("\n") == 1
    assert "uv lock" in baked.stderr
    [project] = tmp_path.iterdir()
    assert not (project / "uv.lock").exists()


def test_the_bake_says_where_the_project_is_and_the_next_two_commands(tmp_path: Path) -> None:
    baked = cookiecutter_cli(tmp_path, {})

    assert baked.returncode == 0, baked.stderr
    assert f"created {tmp_path / 'acme-users'}" in baked.stdout
    for step in ("cd acme-users", "docker compose up --build", "uv run pytest -n auto"):
        assert step in baked.stdout
