"""Every error is a problem (RFC 9457): application/problem+json, a stable `type`, the
offending fields in `errors`, and the request id the response's X-Request-ID header and
the log lines carry."""

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.support.app import app_client

pytestmark = pytest.mark.integration

PROBLEMS = [
    ("GET", "/users/2147483647", None, 404, "/problems/user-not-found"),
    ("GET", "/nowhere", None, 404, "about:blank"),
    ("DELETE", "/users", None, 405, "about:blank"),
    ("GET", "/users/0", None, 422, "/problems/validation-error"),
    ("POST", "/users", {"email": "nope"}, 422, "/problems/validation-error"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "kind"), PROBLEMS)
async def test_every_error_is_a_problem(
    client: AsyncClient, method: str, path: str, body: Any, status: int, kind: str
) -> None:
    response = await client.request(method, path, json=body, headers={"X-Request-ID": "r-1"})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == kind
    assert problem["status"] == status
    assert problem["title"]
    assert problem["instance"] == path
    assert problem["request_id"] == response.headers["X-Request-ID"] == "r-1"


async def test_a_validation_problem_names_each_offending_field(client: AsyncClient) -> None:
    response = await client.post("/users", json={"email": "nope", "extra": 1})

    errors = {(error["location"], error["field"]) for error in response.json()["errors"]}
    assert errors == {("body", "email"), ("body", "full_name"), ("body", "extra")}


async def test_an_unhandled_error_is_a_500_problem_saying_nothing_of_it(
    own_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail() -> None:
        raise RuntimeError("connection to 10.0.0.7 failed, password=hunter22")

    own_app.add_api_route("/fail", fail)

    async with app_client(own_app) as client:
        response = await client.get("/fail", headers={"X-Request-ID": "r-500"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "r-500"
    problem = response.json()
    assert (problem["type"], problem["request_id"]) == ("/problems/internal-error", "r-500")
    for internal in ("10.0.0.7", "hunter22", "RuntimeError"):
        assert internal not in response.text
    # The traceback goes to the log, found by the request id.
    logged = [record for record in caplog.records if record.exc_info]
    assert [(record.levelno, getattr(record, "request_id", None)) for record in logged] == [
        (logging.ERROR, "r-500")
    ]
