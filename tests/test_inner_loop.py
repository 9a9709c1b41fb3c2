"""The one-test run a developer repeats all day loads nothing it does not use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.helpers import matrix_id, run, synced


def test_a_unit_run_imports_neither_schemathesis_nor_fakers_plugin(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))
    result = run(
        project,
        *("uv", "run", "python", "-X", "importtime", "-m", "pytest", "-p", "no:cacheprovider"),
        "tests/unit/test_schemas.py",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()}
    assert "pytest" in imported
    unused = {name for name in imported if name.startswith(("schemathesis", "faker.contrib"))}
    assert unused == set()
