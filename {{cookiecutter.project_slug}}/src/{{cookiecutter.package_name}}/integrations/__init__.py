"""Optional integrations, one package each; the app installs every one present.

An integration is a package here defining `INTEGRATION`: in the app's lifespan it opens its
client from its settings, puts what routers use on `app.state` (behind a small interface
such as `cache.Cache`), registers as an event publisher if it is one
(`events.event_publishers(app).register(...)`: every publisher gets every event) and
yields its readiness check. Routes that exist only with it are its `routers`, tables its
modules define. Adding one means adding a package; nothing else in the app changes. A
PostgreSQL extension's integration has no client and yields no check of its own: its
readiness is the database's.

An integration's lifespan must not fail because its service is unreachable: the app starts
anyway, readiness reports the service, and the client connects when the service is back.
Only a `required` integration makes the app unavailable while it is down.
"""

from __future__ import annotations

import importlib
import pkgutil
from contextlib import AbstractAsyncContextManager
from functools import cache
from typing import Protocol

from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.health import ReadinessCheck


class Integration(Protocol):
    @property
    def name(self) -> str:
        """Its name in /health/ready."""
        ...

    @property
    def required(self) -> bool:
        """Whether the app is unavailable without it; otherwise it serves degraded."""
        ...

    @property
    def routers(self) -> tuple[APIRouter, ...]:
        """Routes that exist only with it."""
        ...

    def lifespan(
        self, app: FastAPI, settings: Settings
    ) -> AbstractAsyncContextManager[ReadinessCheck | None]: ...


@cache
def installed_integrations() -> tuple[Integration, ...]:
    """The integrations present, by package name. Importing them also defines their tables."""
    integrations = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        integration: Integration = importlib.import_module(f"{__name__}.{module.name}").INTEGRATION
        integrations.append(integration)
    return tuple(integrations)
