"""The app factory; every connection is opened in the lifespan, none at import time."""

from __future__ import annotations

import importlib.metadata
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from functools import cache, partial
from typing import NamedTuple

from fastapi import FastAPI

from {{ cookiecutter.package_name }} import health
from {{ cookiecutter.package_name }}.config import PACKAGE, Settings, get_settings
from {{ cookiecutter.package_name }}.db import (
    create_engine,
    create_session_factory,
    ping_database,
)
from {{ cookiecutter.package_name }}.integrations import installed_integrations
from {{ cookiecutter.package_name }}.users.router import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as opened:  # closes what was opened, also when a later step fails
        engine = create_engine(settings.database)
        opened.push_async_callback(engine.dispose)
        app.state.session_factory = create_session_factory(engine)
        dependencies = {
            "postgres": health.Dependency(partial(ping_database, engine), required=True)
        }
        for integration in installed_integrations():
            check = await opened.enter_async_context(integration.lifespan(app, settings))
            dependencies[integration.name] = health.Dependency(check, required=integration.required)
        app.state.dependencies = dependencies
        yield


class ProjectInfo(NamedTuple):
    title: str
    version: str
    description: str


@cache
def project_info() -> ProjectInfo:
    """Name, version and description from pyproject.toml, as the installed project has them."""
    for name in (PACKAGE, *importlib.metadata.packages_distributions().get(PACKAGE, [])):
        with suppress(importlib.metadata.PackageNotFoundError):
            found = importlib.metadata.metadata(name)
            return ProjectInfo(found["Name"], found["Version"], found["Summary"])
    return ProjectInfo(PACKAGE, "0.0.0", "")


def create_app(settings: Settings | None = None) -> FastAPI:
    project = project_info()
    app = FastAPI(
        title=project.title,
        version=project.version,
        description=project.description,
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    app.include_router(health.router)
    app.include_router(users_router)
    for integration in installed_integrations():
        for router in integration.routers:
            app.include_router(router)
    return app
