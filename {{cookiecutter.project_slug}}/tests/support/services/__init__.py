"""The test services: one module per service here, and the registry of the modules present.

A module is named after its compose.yaml service and defines `SERVICE`, a `TestService`:
how its container is built from the image compose.yaml names, its endpoint (a frozen
dataclass: what workers need to reach it), its share of one test (`share`, which both the
pytest fixtures and `IntegrationTestCase` use), and what dev mode exports and runs for it.
Its fixtures live in the same module (conftest.py registers every module here as a pytest
plugin): one named after the service returns its endpoint, and every other depends on that
one, so that a test's fixture closure says which services it uses. The machinery
(plugin.py, containers.py, dev.py) loops over the registry and names no service; compose
services without a module here are none of the suite's business.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

    from {{ cookiecutter.package_name }}.config import IntegrationSettings

    from tests.support.endpoints import ServiceEndpoints


@dataclass(frozen=True)
class Worker:
    """The process running tests: names what it creates on servers shared by runs."""

    run_id: str
    name: str  # xdist's "gwN", or "master"


class TestService[C: "DockerContainer", E](ABC):
    __test__ = False  # pytest: a class, not a test case

    name: ClassVar[str]  # its compose.yaml service
    endpoint_type: ClassVar[type]  # E: how workers read the endpoint back from JSON
    # Its fixture returning the app's settings for one test's share (`share`), if the app
    # has an integration for it; conftest's `settings` gathers them.
    settings_fixture: ClassVar[str | None] = None

    @abstractmethod
    def container(self, image: str, workers: int) -> C:
        """The container to start (or adopt, with --reuse-containers) for a run."""

    @abstractmethod
    def endpoint(self, container: C) -> E:
        """After start or adoption, in the process that started it: what workers need."""

    @abstractmethod
    def address(self, endpoint: E) -> str:
        """Where it listens, for the report header."""

    def notes(self, endpoint: E) -> list[str]:
        """More lines for the report header."""
        return []

    def share(
        self, endpoint: E, worker: Worker
    ) -> AbstractAsyncContextManager[IntegrationSettings | None]:
        """Its share of one test (a database, a topic, a bucket of the worker's own), cleaned
        up on exit; as the app's settings for it, or None if the app has no integration."""
        return nullcontext()

    @abstractmethod
    def dev_environment(self, container: C) -> dict[str, str]:
        """The app's environment variables that point at it, in dev mode."""

    def app_environment(self, endpoint: E, alias: str | None) -> dict[str, str]:
        """The environment variables of an app process of its own (tests/support/served.py,
        tests/support/app_image.py) that reach it: from this host when `alias` is None, else
        from a container on the services' network where it answers to `alias`."""
        return {}

    def dev_commands(self) -> list[list[str]]:
        """Processes dev mode runs beside the app for it (a consumer, say)."""
        return []


class MissingComposeServiceError(LookupError):
    pass


@cache
def module_names() -> tuple[str, ...]:
    """The service modules present (the template removes those of options turned off)."""
    return tuple(sorted(module.name for module in pkgutil.iter_modules(__path__)))


def plugin_modules() -> list[str]:
    return [f"{__name__}.{name}" for name in module_names()]


def load(name: str) -> TestService[Any, Any]:
    service: TestService[Any, Any] = importlib.import_module(f"{__name__}.{name}").SERVICE
    return service


def loaded_services() -> list[TestService[Any, Any]]:
    return [load(name) for name in module_names()]


def present_services(
    compose_images: dict[str, str], only: set[str] | None = None
) -> list[tuple[TestService[Any, Any], str]]:
    """Each service with a module here (of `only`, if given) and its image, in compose.yaml's
    order."""
    missing = set(module_names()) - set(compose_images)
    if missing:
        raise MissingComposeServiceError(
            f"compose.yaml has no service with an image for tests/support/services/"
            f"{min(missing)}.py: add `{min(missing)}:` with an `image:` to compose.yaml"
        )
    wanted = set(module_names()) if only is None else only
    return [(load(name), image) for name, image in compose_images.items() if name in wanted]


def app_environments(services: ServiceEndpoints, on_network: bool) -> dict[str, dict[str, str]]:
    """Each started service's `app_environment` for an app process of its own: reached from
    this host, or, `on_network`, from a container where each answers to its compose name."""
    return {
        name: load(name).app_environment(started.endpoint, name if on_network else None)
        for name, started in services.services.items()
    }


def depending_on[F: Callable[..., Any]](*fixtures: str) -> Callable[[F], F]:
    """Give a fixture function keyword parameters named `fixtures`. Pytest reads a fixture's
    dependencies from its signature before the run, so those it gathers from the registry
    stay static: the run then starts exactly the services its tests use."""

    def with_signature(function: F) -> F:
        kind = inspect.Parameter.KEYWORD_ONLY
        parameters = [inspect.Parameter(name, kind) for name in fixtures]
        function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return function

    return with_signature
