"""Following a generated project's step-by-step docs literally: the files they create or
append to, and the commands they say to run."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import run

# A fenced block, announced by `<!-- create: PATH -->`, `<!-- append: PATH -->` or
# `<!-- run -->` on the line before it.
STEP = re.compile(
    r"^<!-- (?P<action>create|append|run)(?:: (?P<path>\S+))? -->\n```\w*\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Step:
    action: str
    path: str | None
    body: str


def steps(doc: Path) -> list[Step]:
    return [Step(m["action"], m["path"], m["body"]) for m in STEP.finditer(doc.read_text())]


def write_files(project: Path, doc: Path) -> list[str]:
    """Create and append what the doc says; the paths it touched."""
    touched = []
    for step in steps(doc):
        if step.action == "run" or step.path is None:
            continue
        target = project / step.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if step.action == "create":
            assert not target.exists(), f"the doc creates {step.path}, which exists already"
            target.write_text(step.body)
        else:
            existing = target.read_text()
            separator = "" if existing.endswith("\n") else "\n"
            target.write_text(existing + separator + step.body)
        touched.append(step.path)
    return touched


def commands(doc: Path) -> list[list[str]]:
    """The commands of the doc's `run` blocks, in order, one per line."""
    return [
        shlex.split(line)
        for step in steps(doc)
        if step.action == "run"
        for line in step.body.splitlines()
        if line.strip()
    ]


def follow(project: Path, doc: Path, *, until: str) -> list[str]:
    """Write the doc's files, then run its commands up to the first that starts with `until`
    (what the caller runs itself, watching); the paths it touched."""
    touched = write_files(project, doc)
    for command in commands(doc):
        if " ".join(command).startswith(until):
            break
        ran = run(project, *command)
        assert ran.returncode == 0, f"{shlex.join(command)}:\n{ran.stdout}{ran.stderr}"
    return touched
