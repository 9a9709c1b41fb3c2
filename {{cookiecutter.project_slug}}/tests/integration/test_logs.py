"""The logs of the app as production runs it (tests/support/served.py): JSON lines, the
request id on every line of a request (uvicorn's access line too) and echoed in the
response, and no secret in any line."""

import asyncio
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.engine import make_url

from tests.support.served import ServedApp

pytestmark = pytest.mark.integration


async def lines_of_request(app: ServedApp, request_id: str) -> list[dict[str, Any]]:
    """Its lines, once uvicorn's access line (a request's last) has arrived."""
    for _ in range(50):
        lines = [line for line in app.log_records() if line.get("request_id") == request_id]
        if any(line["logger"] == "uvicorn.access" for line in lines):
            return lines
        await asyncio.sleep(0.1)
    raise AssertionError(f"no access line for request {request_id}")


async def test_each_line_of_a_request_carries_the_id_the_client_sent(served_app: ServedApp) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    async with AsyncClient(base_url=served_app.url) as client:
        response = await client.post(
            "/users",
            json={"email": email, "full_name": "Ada"},
            headers={"X-Request-ID": "trace-4f2a"},
        )

    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == "trace-4f2a"
    lines = await lines_of_request(served_app, "trace-4f2a")
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.access"} < loggers  # the app's own line(s) too
    access = next(line for line in lines if line["logger"] == "uvicorn.access")
    assert access["http"]["method"] == "POST"
    assert access["http"]["path"] == "/users"
    assert access["http"]["status"] == 201
    assert {"time", "level", "message"} <= access.keys()


@pytest.mark.parametrize("sent", [None, "x" * 200, "with space"])
async def test_a_request_without_a_usable_id_gets_one(
    served_app: ServedApp, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    async with AsyncClient(base_url=served_app.url) as client:
        response = await client.get("/users/2147483647", headers=headers)

    given = response.headers["X-Request-ID"]
    assert given != sent
    assert len(given) == 32
    assert response.json()["request_id"] == given
    lines = await lines_of_request(served_app, given)
    assert lines[-1]["http"]["status"] == 404


def test_no_line_holds_a_secret(served_app: ServedApp) -> None:
    database_url = served_app.environment["DATABASE_URL"]
    password = make_url(database_url).password
    assert password
    output = "".join(served_app.output)

    starting = [line for line in served_app.log_records() if line["message"].startswith("starting")]
    assert starting, output  # the line that names the database...
    assert ":***@" in starting[0]["message"]  # ...without its password
    assert password not in output
    assert database_url not in output
