"""Jinja extensions of this template, listed in cookiecutter.json's `_extensions`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

TEMPLATE_ROOT = Path(__file__).parent
JINJA_SYNTAX = re.compile(r"\{[{%#]")
# How the template's own directory and file names call for a variable.
PATH_VARIABLE = re.compile(r"\{\{cookiecutter\.[a-z_]+\}\}")
# Escaped in a string literal: what TOML, YAML or JSON refuse raw (control characters, YAML's
# non-printable C1 range and line separators), and the quote and backslash themselves.
MUST_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def string_literal(value: object) -> str:
    """`value` as one double-quoted string that TOML, YAML, JSON and Python all read back as
    `value`: readable letters stay as they are, only what must be is escaped."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return SHORT_ESCAPES.get(char, f"\\u{ord(char):04x}")

    return '"' + MUST_ESCAPE.sub(escape, str(value)) + '"'


class StringLiteralExtension(Extension):
    """The `string_literal` filter: every answer written into a TOML, YAML, JSON or Python
    string goes through it."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["string_literal"] = string_literal


def template_strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return set().union(*map(template_strings, value))
    if isinstance(value, dict):
        return set().union(*map(template_strings, value.values()))
    return set()


class LiteralAnswersExtension(Extension):
    """Answers are data. Cookiecutter renders every answer given with `--no-input`, in a config
    file or on the command line as a template, so a description holding `{{ x }}` would be
    evaluated (and fail with a traceback). The template's own templates (cookiecutter.json's
    values, the hooks, its path names) render as templates; any other text rendered on its own
    (an answer) renders as itself."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        questions = json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
        hooks = (TEMPLATE_ROOT / "hooks").glob("*.py")
        self.templates = template_strings(questions) | {
            hook.read_text(encoding="utf-8") for hook in hooks
        }

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name is not None or not JINJA_SYNTAX.search(source) or source in self.templates:
            return source
        if not JINJA_SYNTAX.search(PATH_VARIABLE.sub("", source)):
            return source  # a directory or file name of the template
        return "{{ " + jinja_string(source) + " }}"


def jinja_string(value: str) -> str:
    """A Jinja string literal of `value` (Jinja decodes its escapes as Python's
    unicode-escape codec does)."""
    return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
