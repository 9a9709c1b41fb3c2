"""README.md's API table against the app's OpenAPI document: one row per operation, listing
the statuses the document gives it (500 aside: the README says any route may answer it)."""

import re
from pathlib import Path

from {{ cookiecutter.package_name }}.main import create_app

README = Path(__file__).resolve().parents[2] / "README.md"
API_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/\S*)` \| ([\d, ]+) \|", re.MULTILINE)


def test_the_readme_api_table_matches_the_openapi_document() -> None:
    documented = {
        f"{method.upper()} {path}": set(operation["responses"]) - {"500"}
        for path, operations in create_app().openapi()["paths"].items()
        for method, operation in operations.items()
    }
    rows = API_ROW.findall(README.read_text())
    in_readme = {
        f"{method} {path}": set(statuses.replace(" ", "").split(","))
        for method, path, statuses in rows
    }

    assert len(rows) == len(in_readme)  # no operation twice
    assert in_readme == documented
