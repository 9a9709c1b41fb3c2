"""Whatever a user types bakes into a project that parses and lints, or stops with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import answers_of, bake, cookiecutter_cli, venv_tool

EXAMPLES = int(os.environ.get("ANSWERS_EXAMPLES", "15"))


@pytest.mark.parametrize(
    ("name", "slug", "package"),
    [
        ("Acme Users", "acme-users", "acme_users"),
        ("Café Users", "cafe-users", "cafe_users"),
        ("O'Brien API", "obrien-api", "obrien_api"),
        ("Zebra", "zebra", "zebra"),
        ("  Straße   Ünïcode__Service ", "strasse-unicode-service", "strasse_unicode_service"),
    ],
)
def test_a_human_name_gives_a_slug_and_a_package(name: str, slug: str, package: str) -> None:
    answers = answers_of({"project_name": name})
    assert (answers["project_slug"], answers["package_name"]) == (slug, package)


@pytest.mark.parametrize(
    "name",
    ["Zebra", "A", "Customer Notification Preference Service"],
    ids=["after-tests", "short", "longest"],
)
def test_package_names_sorting_anywhere_and_up_to_the_longest_bake_code_that_lints(
    name: str, tmp_path: Path
) -> None:
    project = bake(tmp_path, project_name=name, object_storage="localstack")

    assert_lints(project)


def test_quotes_and_backslashes_in_answers_keep_pyproject_valid(tmp_path: Path) -> None:
    author, description = 'Jane "JD" Doe \\ Jr.', 'Says "hi" \\o/ to C:\\Users\t'

    project = bake(tmp_path, author_name=author, description=description)

    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["authors"] == [{"name": author, "email": "jane@example.com"}]
    assert metadata["description"] == description


def test_jinja_syntax_in_an_answer_bakes_literally(tmp_path: Path) -> None:
    description = "Uses {{ braces }}, {% if %} and {# a comment #} as text"

    project = bake(tmp_path, description=description)

    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == description
    assert description in (project / "README.md").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Class", "package_name 'class' is a Python keyword"),
        ("!!!", "project_name '!!!' has no letter or digit"),
        ("Tests", "package_name 'tests' shadows"),
        ("3D Printer", "project_slug '3d-printer'"),
    ],
)
def test_a_name_that_cannot_be_a_package_is_refused_with_one_line(
    name: str, message: str, tmp_path: Path
) -> None:
    refused = cookiecutter_cli(tmp_path, {"project_name": name})

    assert refused.returncode != 0
    assert refused.stderr.startswith("ERROR: ")
    assert refused.stderr.count("\n") == 1
    assert message in refused.stderr
    assert list(tmp_path.iterdir()) == []


def assert_lints(project: Path) -> None:
    for command in (("check", "--no-cache", "."), ("format", "--no-cache", "--check", ".")):
        result = venv_tool("ruff", *command, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr


def assert_parses(project: Path, answers: dict[str, str]) -> None:
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers["description"]
    author = {"name": answers["author_name"], "email": answers["author_email"]}
    assert metadata["authors"] == [author]
    for path in project.rglob("*"):
        if path.suffix in (".yml", ".yaml"):
            yaml.safe_load(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())


def assert_imports(project: Path, package: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {package}"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# Text people type: letters with accents, apostrophes, quotes, backslashes, digits, spaces,
# braces and Jinja's own delimiters; names that sort before and after `tests`.
TYPED_CHARACTERS = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\t"
)
TYPED_TEXT = st.text(TYPED_CHARACTERS, max_size=200) | st.sampled_from(
    ['Jane "JD" Doe', "O'Brien", "C:\\path\\", "{{ cookiecutter.project_name }}", "{% raw %}", "}}"]
)
NAMES = st.sampled_from(["Zebra", "Acme Users", "Café Users", "O'Brien API", "Über Tests"]) | (
    st.text(st.sampled_from("abcxyzéüçñßAZ09 '-_\"\\{}%#"), min_size=1, max_size=60)
)
EMAILS = st.emails() | st.builds(
    "{}@{}.{}".format,
    st.text(st.sampled_from("ab.'\"\\+{}é"), min_size=1, max_size=20),
    st.sampled_from(["example", "ex-ample"]),
    st.sampled_from(["com", "io"]),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(project_name=NAMES, author_name=TYPED_TEXT, author_email=EMAILS, description=TYPED_TEXT)
def test_any_answers_bake_a_project_that_parses_and_lints_or_stop_with_one_line(
    project_name: str, author_name: str, author_email: str, description: str
) -> None:
    answers = {
        "project_name": project_name,
        "author_name": author_name,
        "author_email": author_email,
        "description": description,
    }
    with tempfile.TemporaryDirectory() as output:
        result = cookiecutter_cli(Path(output), answers)
        produced = list(Path(output).iterdir())
        if result.returncode != 0:
            assert result.stderr.startswith("ERROR: "), result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
            assert produced == []
            return
        [project] = produced
        package = next((project / "src").iterdir()).name
        assert_parses(project, answers)
        assert_lints(project)
        assert_imports(project, package)
