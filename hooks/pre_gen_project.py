"""Validate the answers before anything is written; one line on stderr and exit 1 on a bad one."""

from __future__ import annotations

import json
import keyword
import re
import sys

# The answers as cookiecutter rendered them, as JSON: intact whatever they hold.
ANSWERS = r"""{{ cookiecutter | tojson }}"""
# The questions as cookiecutter read them from cookiecutter.json, choices included (cruft
# renders hooks without them; its prompts offer only the choices anyway).
QUESTIONS = r"""{{ _cookiecutter | default({}) | tojson }}"""
# cookiecutter.json's first kafka_image: the context cannot tell it apart from an answer
# given on the command line (cookiecutter moves that to the front); a template test keeps
# the two equal.
DEFAULT_KAFKA_IMAGE = "apache/kafka-native"
# Names a generated package must not take: the project's own top-level test package,
# and test-runner modules that stdlib_module_names does not list.
# The generated code's lines that name the package fit ruff's 100 columns up to this length.
MAX_PACKAGE_LENGTH = 40
RESERVED_PACKAGE_NAMES = frozenset({"tests", "test", "conftest", "pytest", "migrations"})

# What cookiecutter.json derives the slug as when the project name gives none: a directory
# name cookiecutter can create (an empty one is the output directory itself).
NO_SLUG = "_"
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
# CI runners the suite may be split across (ci_shards); each starts its own containers.
SHARDS_PATTERN = re.compile(r"[1-9][0-9]*")
MAX_CI_SHARDS = 20


def slug_error(slug: str, project_name: str) -> str | None:
    if slug == NO_SLUG:
        return f"project_name {project_name!r} has no letter or digit to make a project_slug of"
    if not SLUG_PATTERN.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not kebab-case "
            "(lower-case letters, digits and single hyphens, starting with a letter)"
        )
    return None


def package_error(package: str) -> str | None:
    if not package.isidentifier() or not package.isascii() or package != package.lower():
        return f"package_name {package!r} is not a lower-case Python identifier"
    if len(package) > MAX_PACKAGE_LENGTH:
        return f"package_name {package!r} is longer than {MAX_PACKAGE_LENGTH} characters"
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        return f"package_name {package!r} is a Python keyword"
    if package in sys.stdlib_module_names or package in RESERVED_PACKAGE_NAMES:
        return f"package_name {package!r} shadows the standard or test module of that name"
    return None


def email_error(email: str) -> str | None:
    if not EMAIL_PATTERN.fullmatch(email):
        return f"author_email {email!r} is not an email address"
    return None


def choices_of(questions: dict[str, object]) -> dict[str, list[str]]:
    """Every question that has choices, and its choices (private variables are no questions)."""
    return {
        name: value
        for name, value in questions.items()
        if isinstance(value, list) and not name.startswith("_")
    }


def choice_error(answers: dict[str, str], choices: dict[str, list[str]]) -> str | None:
    for name, allowed in choices.items():
        if name in answers and answers[name] not in allowed:
            return f"{name} {answers[name]!r} is not one of: {', '.join(allowed)}"
    return None


def shards_error(shards: str) -> str | None:
    if not SHARDS_PATTERN.fullmatch(shards) or int(shards) > MAX_CI_SHARDS:
        return f"ci_shards {shards!r} is not a whole number from 1 to {MAX_CI_SHARDS}"
    return None


def combination_error(answers: dict[str, str]) -> str | None:
    if answers["use_kafka"] == "n" and answers["kafka_image"] != DEFAULT_KAFKA_IMAGE:
        return f"kafka_image {answers['kafka_image']!r} was chosen but use_kafka is 'n'"
    if answers["ci"] == "none" and answers["ci_shards"] != "1":
        return f"ci_shards {answers['ci_shards']!r} was chosen but ci is 'none'"
    return None


def first_error(answers: dict[str, str], choices: dict[str, list[str]]) -> str | None:
    checks = (
        slug_error(answers["project_slug"], answers.get("project_name", "")),
        package_error(answers["package_name"]),
        email_error(answers["author_email"]),
        choice_error(answers, choices),
        shards_error(answers["ci_shards"]),
        combination_error(answers),
    )
    return next((error for error in checks if error), None)


def main() -> None:
    answers = json.loads(ANSWERS)
    error = first_error(
        {name: str(value) for name, value in answers.items() if not name.startswith("_")},
        choices_of(json.loads(QUESTIONS)),
    )
    if error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
