"""Run the app in-process for tests: its lifespan, and an httpx client over ASGI.

Building an app and running its lifespan costs more than most API tests (FastAPI builds
each route's state on an app's first requests; the lifespan opens the engines and clients),
so the tests of a worker share one app per distinct settings, started once (`SharedApps`).
A test that changes an app (adds a route or a dependency override, swaps its state) builds
one of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.db import get_session
from {{ cookiecutter.package_name }}.main import create_app


def use_session(app: FastAPI, session: AsyncSession) -> FastAPI:
    """Make every request of `app` use `session` (the test's rolled-back one)."""

    async def the_test_session() -> AsyncSession:
        return session

    app.dependency_overrides[get_session] = the_test_session
    return app


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client to `app`, its lifespan run for the client's life."""
    async with LifespanManager(app) as manager, client_of(manager.app) as client:
        yield client


def client_of(asgi_app: ASGIApp) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=asgi_app), base_url="http://test")


@dataclass(frozen=True)
class StartedApp:
    settings: Settings
    app: FastAPI
    asgi_app: ASGIApp  # the app as its lifespan serves it (with the lifespan's state)


def fingerprint(app: FastAPI) -> tuple[object, ...]:
    """What a test may not change in a shared app: its routes, middleware, exception
    handlers, dependency overrides, and what its state holds."""
    return (
        tuple(app.router.routes),
        tuple(app.user_middleware),
        tuple(app.exception_handlers.items()),
        tuple(app.dependency_overrides.items()),
        tuple((name, id(value)) for name, value in vars(app.state)["_state"].items()),
    )


class SharedApps:
    """The apps a worker's tests share: one per distinct settings, built and started (its
    lifespan run) on first use, stopped at the end of the run."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self.stack = stack
        self.started: list[StartedApp] = []

    @classmethod
    @asynccontextmanager
    async def for_the_run(cls) -> AsyncIterator[SharedApps]:
        async with AsyncExitStack() as stack:
            yield cls(stack)

    async def start(self, settings: Settings) -> StartedApp:
        for started in self.started:
            if started.settings == settings:
                return started
        app = create_app(settings)
        manager = await self.stack.enter_async_context(LifespanManager(app))
        started = StartedApp(settings, app, manager.app)
        self.started.append(started)
        return started

    @asynccontextmanager
    async def client(self, app: FastAPI) -> AsyncIterator[AsyncClient]:
        """A client to `app`: a started one as it runs, any other with its lifespan run for
        the client's life (a module's own `app` fixture)."""
        served = [started.asgi_app for started in self.started if started.app is app]
        if served:
            async with client_of(served[0]) as client:
                yield client
        else:
            async with app_client(app) as client:
                yield client

    @asynccontextmanager
    async def lend(self, settings: Settings, session: AsyncSession) -> AsyncIterator[FastAPI]:
        """The started app for `settings`, its requests using `session` for one test; a test
        that changed it fails, and the app is not lent again."""
        started = await self.start(settings)
        before = fingerprint(started.app)
        use_session(started.app, session)
        try:
            yield started.app
        finally:
            started.app.dependency_overrides.pop(get_session, None)
            if fingerprint(started.app) != before:
                self.started.remove(started)  # stopped with the others at the end of the run
                pytest.fail(
                    "this test changed the app the worker's tests share (its routes, "
                    "middleware, exception handlers, dependency overrides or app.state): "
                    "take `own_app` for an app of its own",
                    pytrace=False,
                )


def assert_serving_without(response: Response, dependency: str) -> None:
    """/health/ready with one optional dependency down: 200, degraded, that one unavailable,
    every other ok, and no address in the body."""
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"].pop(dependency) == "unavailable"
    assert set(body["checks"].values()) == {"ok"}
    assert "127.0.0.1" not in response.text


class StalledFills:
    """Wraps the app's cache: a read's cache fill waits until `release` is set."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.fill_started = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cache, name)

    async def set(self, *args: Any, **kwargs: Any) -> None:
        self.fill_started.set()
        await self.release.wait()
        await self.cache.set(*args, **kwargs)
