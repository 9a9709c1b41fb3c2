"""The API against its own OpenAPI document, with schemathesis generating the requests
(valid and invalid: bodies, ids at the column's bounds, cursors, media types) to the app as
production runs it (tests/support/served.py) on a database of its own.

Any 5xx, a status the document does not list for the route, a body that does not match the
documented schema or a media type it does not declare fails the operation's test, with the
request to reproduce it.
"""

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from {{ cookiecutter.package_name }}.main import create_app

from tests.support.served import ServedApp

pytest_plugins = ("schemathesis.pytest.plugin",)  # not autoloaded: see pyproject.toml
pytestmark = pytest.mark.integration

CONTRACT = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DOCUMENT = create_app().openapi()  # one test per operation, named after it
api = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_served_document_is_the_one_tested(served_app: ServedApp) -> None:
    assert httpx.get(f"{served_app.url}/openapi.json").json() == DOCUMENT


@api.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_documented_contract(
    case: Case[Any], served_app: ServedApp
) -> None:
    case.call_and_validate(base_url=served_app.url, checks=CONTRACT)
