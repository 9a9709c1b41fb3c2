"""Run the app in-process for tests: its lifespan, and an httpx client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.db import get_session


def use_session(app: FastAPI, session: AsyncSession) -> FastAPI:
    """Make every request of `app` use `session` (the test's rolled-back one)."""

    async def the_test_session() -> AsyncSession:
        return session

    app.dependency_overrides[get_session] = the_test_session
    return app


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
        yield client


def assert_serving_without(response: Response, dependency: str) -> None:
    """/health/ready with one optional dependency down: 200, degraded, that one unavailable,
    every other ok, and no address in the body."""
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"].pop(dependency) == "unavailable"
    assert set(body["checks"].values()) == {"ok"}
    assert "127.0.0.1" not in response.text
