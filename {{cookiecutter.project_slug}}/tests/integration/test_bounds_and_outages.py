"""Under load and faults: a request costs the app at most its bounds, readiness measures the
database rather than the load, and a database that cannot serve is a 503 clients may retry."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from {{ cookiecutter.package_name }}.cache import app_cache
from {{ cookiecutter.package_name }}.config import DatabaseSettings, Settings
from {{ cookiecutter.package_name }}.db import create_engine, create_session_factory
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.problems import MAX_LISTED_ERRORS

from tests.support.app import StalledFills, app_client
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}


async def test_a_body_over_the_limit_is_413_before_it_is_read(
    client: AsyncClient, settings: Settings
) -> None:
    oversized = b'{"email": "' + b"a" * settings.max_request_body_bytes + b'"}'

    response = await client.post("/users", content=oversized, headers=JSON)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/request-too-large"


async def test_a_body_sent_in_chunks_is_refused_once_it_passes_the_limit(
    client: AsyncClient, settings: Settings
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        while sent <= 4 * settings.max_request_body_bytes:
            sent += 64 * 1024
            yield b" " * 64 * 1024

    response = await client.post("/users", content=chunks(), headers=JSON)

    assert response.status_code == 413
    assert response.json()["type"] == "/problems/request-too-large"


async def test_a_422_lists_a_bounded_number_of_errors_and_says_how_many(
    client: AsyncClient,
) -> None:
    unknown_keys = {f"key{n}": n for n in range(1000)}

    response = await client.post("/users", json=unknown_keys)

    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    assert problem["error_count"] == 1002  # the unknown keys, and email and full_name missing
    assert problem["detail"].endswith(f"(and {1002 - MAX_LISTED_ERRORS} more)")


async def test_readiness_does_not_queue_behind_a_saturated_pool(settings: Settings) -> None:
    database = settings.database.model_copy(update={"pool_size": 2, "max_overflow": 1})
    app = create_app(settings.model_copy(update={"database": database}))
    async with app_client(app) as client:
        engine: AsyncEngine = app.state.session_factory.kw["bind"]
        held: list[AsyncConnection] = []
        try:
            for _ in range(database.pool_size + database.max_overflow):  # every one it may open
                held.append(await engine.connect())
            response = await client.get("/health/ready")
        finally:
            for connection in held:
                await connection.close()

    assert response.status_code == 200
    assert response.json()["checks"]["postgres"] == "ok"


async def test_requests_beyond_the_pool_wait_for_its_connections_rather_than_open_more(
    settings: Settings,
) -> None:
    """Each connection opened costs the database a process and an authentication; a pool that
    opened extra ones under load and closed them as soon as they were idle opened one per
    request. Three rounds of three times as many concurrent requests as the pool holds."""
    app = create_app(settings)
    async with app_client(app) as client:
        engine: AsyncEngine = app.state.session_factory.kw["bind"]
        opened: list[object] = []
        event.listen(engine.sync_engine, "connect", lambda connection, _: opened.append(connection))
        for _ in range(3):
            responses = await asyncio.gather(
                *(client.get("/users") for _ in range(3 * settings.database.pool_size))
            )
            assert {response.status_code for response in responses} == {200}

    assert 0 < len(opened) <= settings.database.pool_size


@asynccontextmanager
async def database_behind_a_proxy(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[TcpProxy, Settings]]:
    """A proxy to the database this test controls, and `settings` reaching it through it."""
    url = make_url(database_url)
    async with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        database = DatabaseSettings(url=through_proxy.render_as_string(hide_password=False))
        yield proxy, settings.model_copy(update={"database": database})


@pytest.mark.parametrize("dropped_by", ["the server", "the network"])
async def test_a_connection_dropped_in_the_pool_is_replaced_before_a_request_gets_it(
    settings: Settings, fresh_database: str, dropped_by: str
) -> None:
    """A database restart or failover closes the pool's idle connections; a NAT or a load
    balancer past its idle timeout forgets them without a word. Either way the pool replaces
    the connection as it is checked out, never hands it to a request to fail on. (The app's
    engine, not the app: its outbox relay could meet the dropped connection first, and any
    failure renews the whole pool.)"""
    async with database_behind_a_proxy(settings, fresh_database) as (proxy, through_proxy):
        database = through_proxy.database.model_copy(update={"ping_after_idle_seconds": 0.2})
        engine = create_engine(through_proxy.model_copy(update={"database": database}))
        sessions = create_session_factory(engine)
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))  # its connection goes back to the pool
            if dropped_by == "the server":  # checked out again at once
                proxy.cut()
                proxy.restore()
            else:
                proxy.forget()
                await asyncio.sleep(2 * database.ping_after_idle_seconds)
            async with sessions() as session:
                answer = await session.scalar(text("SELECT 1"))
        finally:
            await engine.dispose()

    assert answer == 1


async def test_a_database_outage_is_a_503_to_retry_logged_once(
    settings: Settings, fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        database_behind_a_proxy(settings, fresh_database) as (proxy, through_proxy),
        app_client(create_app(through_proxy)) as client,
    ):
        before = await client.post("/users", json={"email": "a@example.com", "full_name": "A"})
        proxy.cut()
        during = [
            await client.post("/users", json={"email": f"{n}@example.com", "full_name": "B"})
            for n in range(3)
        ]
        ready_during = await client.get("/health/ready")
        proxy.restore()
        after = await client.post("/users", json={"email": "c@example.com", "full_name": "C"})

    assert (before.status_code, after.status_code) == (201, 201)
    assert ready_during.status_code == 503
    for response in during:
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["Retry-After"] == "5"
        assert response.json()["type"] == "/problems/database-unavailable"
    from_problems = [r for r in caplog.records if r.name.endswith(".problems")]
    warnings = [r.getMessage() for r in from_problems if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("the database unavailable, answering 503: ")
    assert not [r for r in from_problems if r.levelno >= logging.ERROR or r.exc_info]
    assert any("available again" in r.getMessage() for r in from_problems)


async def test_a_read_filling_the_cache_holds_no_database_connection(
    settings: Settings, fresh_database: str
) -> None:
    one_connection = DatabaseSettings(url=fresh_database, pool_size=1)
    app = create_app(settings.model_copy(update={"database": one_connection}))
    async with app_client(app) as client:
        ada = await client.post("/users", json={"email": "ada@example.com", "full_name": "Ada"})
        stalled = StalledFills(app_cache(app))
        app.state.cache = stalled
        read = asyncio.create_task(client.get(f"/users/{ada.json()['id']}"))
        await asyncio.wait_for(stalled.fill_started.wait(), 5)

        bo = {"email": "bo@example.com", "full_name": "Bo"}
        served_meanwhile = await asyncio.wait_for(client.post("/users", json=bo), 5)
        stalled.release.set()

        assert (await read).status_code == 200
    assert served_meanwhile.status_code == 201
