"""IntegrationTestCase: the suite's containers and isolation for unittest.TestCase classes.

Under pytest (with or without xdist) a TestCase uses the run's containers, started by the
controller. Under `python -m unittest` the first test that needs them starts them, once per
process, and they stop when it exits (Ryuk removes them if it is killed). Either way each
test gets a session on this worker's clone of the migrated template, rolled back after the
test; a client to the app using that session; and each service's share of the test (its
`share`, tests/support/services/<service>.py, which the pytest fixtures use too) in the app's
settings, `self.settings.integration(<its settings class>)`.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import unittest
from functools import cache
from typing import ClassVar

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from testcontainers.core.labels import SESSION_ID

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Environment, Settings
from {{ cookiecutter.package_name }}.main import create_app

from tests.support.app import app_client, use_session
from tests.support.containers import LOG_TAIL_LINES, container_log_tails, start_services
from tests.support.endpoints import ServiceEndpoints, endpoints_of_run
from tests.support.images import compose_images
from tests.support.services import Worker, loaded_services, module_names, present_services
from tests.support.services.postgres import SERVICE as POSTGRES
from tests.support.services.postgres import rolled_back_session, worker_database

SLOW_STEP_SECONDS = 1.0


@cache
def services_of_this_process() -> ServiceEndpoints:
    """Plain unittest: start the services once, stop them at exit."""
    running = start_services(present_services(compose_images()), workers=1)
    atexit.register(running.stop)
    endpoints = ServiceEndpoints.of_running(running)
    print(f"test services started in session {SESSION_ID}:", file=sys.stderr)
    for line in endpoints.describe():
        print(f"  {line}", file=sys.stderr)
    return endpoints


def services_for_tests() -> ServiceEndpoints:
    """The run's services under pytest; this process's own under plain unittest."""
    provided = endpoints_of_run()
    return provided() if provided else services_of_this_process()


class IntegrationTestCase(unittest.IsolatedAsyncioTestCase):
    """A TestCase against the real services: see the module's docstring."""

    # Under pytest: an integration test, using every service (the run starts them all).
    pytestmark: ClassVar = [pytest.mark.integration, pytest.mark.usefixtures(*module_names())]

    session: AsyncSession
    client: AsyncClient
    settings: Settings
    services: ServiceEndpoints
    worker: Worker
    database_url: str

    def setUp(self) -> None:
        # What blocks (the first test may start the containers, and clones this worker's
        # database) runs here, before the test's event loop runs anything.
        self.services = services_for_tests()
        self.worker = Worker(self.services.run_id, os.environ.get("PYTEST_XDIST_WORKER", "master"))
        self.database_url = worker_database(self.services.of(POSTGRES), self.worker)

    async def asyncSetUp(self) -> None:
        # The loop runs in debug mode, which logs every step over 0.1 s: round trips to real
        # servers take that long on a busy machine.
        asyncio.get_running_loop().slow_callback_duration = SLOW_STEP_SECONDS
        # A new event loop runs each test: an engine without a pool keeps no connection of
        # an earlier loop.
        engine = create_async_engine(self.database_url, poolclass=NullPool)
        self.addAsyncCleanup(engine.dispose)
        self.session = await self.enterAsyncContext(rolled_back_session(engine))
        integrations = []
        for service in loaded_services():
            share = service.share(self.services.of(service), self.worker)
            if (settings := await self.enterAsyncContext(share)) is not None:
                integrations.append(settings)
        self.settings = Settings(
            environment=Environment.TEST,
            database=DatabaseSettings(url=self.database_url),
            integrations=tuple(integrations),
        )
        app = use_session(create_app(self.settings), self.session)
        self.client = await self.enterAsyncContext(app_client(app))

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        """Under unittest, a failing test's report ends with the containers' last log lines
        (under pytest, the plugin attaches them to the report)."""
        if not isinstance(result, unittest.TestResult):
            return super().run(result)
        problems = (result.failures, result.errors)
        before = [len(found) for found in problems]
        outcome = super().run(result)
        for found, count in zip(problems, before, strict=True):
            for index in range(count, len(found)):
                test, report = found[index]
                found[index] = (test, report + self._log_tails())
        return outcome

    def _log_tails(self) -> str:
        services: ServiceEndpoints | None = getattr(self, "services", None)
        if services is None:
            return ""
        tails = container_log_tails(services.container_ids())
        return "".join(
            f"\n--- {name} container log (last {LOG_TAIL_LINES} lines) ---\n{tail}"
            for name, tail in tails.items()
        )
