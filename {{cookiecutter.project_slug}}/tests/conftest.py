"""The fixtures tests use. The machinery behind them lives in tests/support/ (its package
docstring maps it).

Services start once per run, those the selected tests use (tests/support/plugin.py). Each
service's own fixtures live in its module, tests/support/services/<service>.py: for
PostgreSQL `db_session` (a transaction rolled back after the test, on this worker's clone
of the migrated template), `fresh_database` (a clone of its own, for real commits),
`postgres` (the server); every other service's fixtures are named after it, and
`<service>_settings` is a test's share of it, as the app's settings.

`served_app` (tests/support/served.py) is the app as production runs it: uvicorn in a
process of its own, configured by its environment, logging JSON, for the tests of the API's
contract and of its logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.config import (
    DatabaseSettings,
    Environment,
    IntegrationSettings,
    Settings,
)
from {{ cookiecutter.package_name }}.main import create_app

from tests.support.app import SharedApps, use_session
from tests.support.endpoints import ENDPOINTS_PROVIDER, ServiceEndpoints
from tests.support.services import plugin_modules
from tests.support.settings import cached_settings

# The service modules first: pytest rewrites their asserts only if it imports them itself.
pytest_plugins = [*plugin_modules(), "tests.support.served", "tests.support.plugin"]


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest) -> ServiceEndpoints:
    """Addresses of the run's containers (started by the controller, or this process)."""
    return request.config.stash[ENDPOINTS_PROVIDER]()


@pytest.fixture
def settings(
    worker_database_url: str, integration_settings: tuple[IntegrationSettings, ...]
) -> Settings:
    """Settings pointing at this test's share of each service, given explicitly; a copy of
    its own of the worker's (tests/support/settings.py)."""
    return cached_settings(
        Settings,
        environment=Environment.TEST,
        database=cached_settings(DatabaseSettings, url=worker_database_url),
        integrations=integration_settings,
    )


@pytest.fixture(scope="session")
async def shared_apps() -> AsyncIterator[SharedApps]:
    """This worker's started apps, one per distinct settings, stopped at the end of the run."""
    async with SharedApps.for_the_run() as apps:
        yield apps


@pytest.fixture
async def app(
    shared_apps: SharedApps, settings: Settings, db_session: AsyncSession
) -> AsyncIterator[FastAPI]:
    """The app, started, its requests using the test's rolled-back session: shared by the
    worker's tests with the same settings. A test that changes it takes `own_app`."""
    async with shared_apps.lend(settings, db_session) as app:
        yield app


@pytest.fixture
def own_app(settings: Settings, db_session: AsyncSession) -> FastAPI:
    """An app of the test's own (not started: `app_client` runs its lifespan), its requests
    using the test's rolled-back session: for a test that adds a route or a dependency
    override, or swaps its state."""
    return use_session(create_app(settings), db_session)


@pytest.fixture
async def client(app: FastAPI, shared_apps: SharedApps) -> AsyncIterator[AsyncClient]:
    """An httpx client talking to `app` in-process (a module's own `app` fixture is started
    for the test)."""
    async with shared_apps.client(app) as client:
        yield client
