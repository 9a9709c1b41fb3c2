"""The test services: one module per service here, and the registry of the modules present.

A module is named after its compose.yaml service and defines `SERVICE`, a `TestService`:
how its container is built from the image compose.yaml names, what workers need to reach
it (plain JSON), what dev mode exports and runs for it. Its fixtures live in the same
module (conftest.py registers every module here as a pytest plugin). The machinery
(plugin.py, containers.py, dev.py) loops over the registry and names no service; compose
services without a module here are none of the suite's business.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from unittest import IsolatedAsyncioTestCase

    import pytest
    from testcontainers.core.container import DockerContainer

    from tests.support.endpoints import ServiceEndpoints

Endpoint = dict[str, Any]  # JSON: what a worker needs to reach a service


@dataclass(frozen=True)
class Worker:
    """The process running tests: names what it creates on servers shared by runs."""

    run_id: str
    name: str  # xdist's "gwN", or "master"


class TestService[C: "DockerContainer"](ABC):
    __test__ = False  # pytest: a class, not a test case

    name: ClassVar[str]  # its compose.yaml service
    # The fixture returning the app's settings for this service, if the app has an
    # integration for it; conftest's `settings` gathers them.
    settings_fixture: ClassVar[str | None] = None

    @abstractmethod
    def container(self, image: str, workers: int) -> C:
        """The container to start (or adopt, with --reuse-containers) for a run."""

    @abstractmethod
    def endpoint(self, container: C) -> Endpoint:
        """After start or adoption, in the process that started it: what workers need."""

    @abstractmethod
    def address(self, endpoint: Endpoint) -> str:
        """Where it listens, for the report header."""

    def notes(self, endpoint: Endpoint) -> list[str]:
        """More lines for the report header."""
        return []

    @abstractmethod
    def dev_environment(self, container: C) -> dict[str, str]:
        """The app's environment variables that point at it, in dev mode."""

    def app_environment(self, endpoint: Endpoint, alias: str | None) -> dict[str, str]:
        """The environment variables of an app process of its own (tests/support/served.py,
        tests/support/image.py) that reach it: from this host when `alias` is None, else from
        a container on the services' network where it answers to `alias`; none by default."""
        return {}

    def dev_commands(self) -> list[list[str]]:
        """Processes dev mode runs beside the app for it (a consumer, say)."""
        return []

    async def set_up_test_case(
        self, case: IsolatedAsyncioTestCase, endpoint: Endpoint, worker: Worker
    ) -> Any:
        """For IntegrationTestCase (tests/support/testcase.py): this service's share of one
        test, cleaned up through `case.addAsyncCleanup`; the app's settings for it, or None."""
        return None


class MissingComposeServiceError(LookupError):
    pass


def module_names() -> list[str]:
    """The service modules present (the template removes those of options turned off)."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__))


def plugin_modules() -> list[str]:
    return [f"{__name__}.{name}" for name in module_names()]


def load(name: str) -> TestService[Any]:
    service: TestService[Any] = importlib.import_module(f"{__name__}.{name}").SERVICE
    return service


def present_services(compose_images: dict[str, str]) -> list[tuple[TestService[Any], str]]:
    """Each service with a module here and its image, in compose.yaml's order."""
    names = module_names()
    missing = set(names) - set(compose_images)
    if missing:
        raise MissingComposeServiceError(
            f"compose.yaml has no service with an image for tests/support/services/"
            f"{min(missing)}.py: add `{min(missing)}:` with an `image:` to compose.yaml"
        )
    return [(load(name), image) for name, image in compose_images.items() if name in names]


def loaded_services() -> list[TestService[Any]]:
    return [load(name) for name in module_names()]


def app_environments(services: ServiceEndpoints, on_network: bool) -> dict[str, dict[str, str]]:
    """Each service's `app_environment` for an app process of its own: reached from this
    host, or, `on_network`, from a container where each answers to its compose name."""
    return {
        name: load(name).app_environment(service.endpoint, name if on_network else None)
        for name, service in services.services.items()
    }


def integration_settings(request: pytest.FixtureRequest) -> tuple[Any, ...]:
    """The app's settings for every service the app has an integration for."""
    return tuple(
        request.getfixturevalue(service.settings_fixture)
        for service in loaded_services()
        if service.settings_fixture
    )
