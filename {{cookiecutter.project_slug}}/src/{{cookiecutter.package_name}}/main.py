"""The app factory; every connection is opened in the lifespan, none at import time."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from functools import cache, partial
from typing import Any, NamedTuple

from fastapi import FastAPI
from fastapi.routing import APIRoute

from {{ cookiecutter.package_name }} import health
from {{ cookiecutter.package_name }}.config import (
    PACKAGE,
    Settings,
    get_settings,
    redacted,
)
from {{ cookiecutter.package_name }}.db import (
    create_engine,
    create_health_engine,
    create_session_factory,
    ping_database,
)
from {{ cookiecutter.package_name }}.events import EventPublishers, event_publishers
from {{ cookiecutter.package_name }}.integrations import installed_integrations
from {{ cookiecutter.package_name }}.limits import install_body_limit
from {{ cookiecutter.package_name }}.logs import configure_logging
from {{ cookiecutter.package_name }}.problems import (
    as_problem_documents,
    install_problems,
    problem_responses,
)
from {{ cookiecutter.package_name }}.users.router import router as users_router

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    logger.info(
        "starting %s %s: environment %s, database %s",
        app.title,
        app.version,
        settings.environment.value,
        redacted(settings.database.url),
    )
    async with AsyncExitStack() as opened:  # closes what was opened, also when a later step fails
        engine = create_engine(settings)
        opened.push_async_callback(engine.dispose)
        app.state.session_factory = create_session_factory(engine)
        health_engine = create_health_engine(settings)
        opened.push_async_callback(health_engine.dispose)
        dependencies = {
            "postgres": health.Dependency(partial(ping_database, health_engine), required=True)
        }
        for integration in installed_integrations():
            check = await opened.enter_async_context(integration.lifespan(app, settings))
            if check is not None:
                required = integration.required
                dependencies[integration.name] = health.Dependency(check, required=required)
        app.state.dependencies = dependencies
        logger.info("event publishers: %s", event_publishers(app).describe())
        yield


class ProjectInfo(NamedTuple):
    title: str
    version: str
    description: str


def distribution_names() -> Iterator[str]:
    """Where the project's metadata may be: under the package's own name (the bake's), else
    under any distribution that installs the package."""
    yield PACKAGE
    # Only if the name did not match: this reads every installed distribution's file list,
    # about 90 ms at each process's first app (each test run, each xdist worker, each start).
    yield from importlib.metadata.packages_distributions().get(PACKAGE, [])


@cache
def project_info() -> ProjectInfo:
    """Name, version and description from pyproject.toml, as the installed project has them."""
    for name in distribution_names():
        with suppress(importlib.metadata.PackageNotFoundError):
            found = importlib.metadata.metadata(name)
            return ProjectInfo(found["Name"], found["Version"], found["Summary"])
    return ProjectInfo(PACKAGE, "0.0.0", "")


def operation_id(route: APIRoute) -> str:
    """The handler's name (`create_user`): the method name client generators give it."""
    return route.name


class App(FastAPI):
    def openapi(self) -> dict[str, Any]:
        cached = self.openapi_schema
        document = super().openapi()
        if document is not cached:  # built anew (first call, or the routes changed): finish it once
            as_problem_documents(document)
        return document


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    project = project_info()
    app = App(
        title=settings.api_title or project.title,
        version=settings.api_version or project.version,
        description=settings.api_description or project.description,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        responses=problem_responses(500),  # any route may fail on our side
    )
    app.state.settings = settings
    app.state.event_publishers = EventPublishers()
    install_body_limit(app, settings.max_request_body_bytes)
    install_problems(app)
    app.include_router(health.router)
    app.include_router(users_router)
    for integration in installed_integrations():
        for router in integration.routers:
            app.include_router(router)
    return app
