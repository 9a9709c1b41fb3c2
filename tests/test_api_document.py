"""The generated README's API table against the app's own OpenAPI document."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import SUITE_BAKES, matrix_id, run

DUMP_OPENAPI = (
    "import json, sys; from {package}.main import create_app; "
    "json.dump(create_app().openapi(), sys.stdout)"
)
API_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/\S*)` \| ([\d, ]+) \|", re.MULTILINE)


# Object storage and the PostgreSQL extensions add routes; the other options change none.
ROUTE_SETS = [{}, SUITE_BAKES[1], SUITE_BAKES[4]]  # pgvector; MinIO and PostGIS


@pytest.mark.parametrize("overrides", ROUTE_SETS, ids=matrix_id)
def test_the_readme_api_table_matches_the_openapi_document(
    overrides: dict[str, str], bake_once: Callable[..., Path]
) -> None:
    """One row per operation, listing the statuses the document gives it (500 aside: the
    README says any route may answer it)."""
    project = bake_once(matrix_id(overrides), **overrides)
    package = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    dumped = run(
        project, "uv", "run", "python", "-c", DUMP_OPENAPI.format(package=package.replace("-", "_"))
    )
    assert dumped.returncode == 0, dumped.stderr
    documented = {
        f"{method.upper()} {path}": set(operation["responses"]) - {"500"}
        for path, operations in json.loads(dumped.stdout)["paths"].items()
        for method, operation in operations.items()
    }

    rows = API_ROW.findall((project / "README.md").read_text())
    in_readme = {
        f"{method} {path}": set(statuses.replace(" ", "").split(","))
        for method, path, statuses in rows
    }

    assert len(rows) == len(in_readme)
    assert in_readme == documented
