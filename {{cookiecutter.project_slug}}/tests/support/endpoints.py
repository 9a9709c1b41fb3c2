"""Where the run's services are: written by the process that started them, read by workers.

Each service's endpoint crosses as JSON and is read back into its service's dataclass
(`endpoint_type`) here, once: fixtures get it typed from `services.of(SERVICE)`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from testcontainers.core.labels import SESSION_ID

from tests.support.containers import RunningServices, StartFailure
from tests.support.services import TestService, load


@dataclass(frozen=True)
class StartedService:
    image: str
    container_id: str
    address: str
    notes: list[str]
    endpoint: Any  # its service's endpoint_type


@dataclass(frozen=True)
class ServiceEndpoints:
    # Unique to this run: names of what the run creates on shared (reused) servers.
    run_id: str
    # The Testcontainers session of the process that started them: its Ryuk also reaps any
    # container a worker labels with it.
    session_id: str
    services: dict[str, StartedService]

    @classmethod
    def of_running(cls, running: RunningServices) -> ServiceEndpoints:
        """Ask each running service what workers need (in parallel: some wait on a server)."""

        def describe(name: str) -> StartedService:
            service, container = running.services[name], running.containers[name]
            try:
                endpoint = service.endpoint(container)
            except Exception as error:
                hint = (
                    f"the traceback in the log names the step (`endpoint` of "
                    f"tests/support/services/{name}.py; for postgres, often a migration)"
                )
                raise StartFailure("preparing it for the tests", name, error, hint) from error
            return StartedService(
                image=running.images[name],
                container_id=container.get_container_id(),
                address=service.address(endpoint),
                notes=service.notes(endpoint),
                endpoint=endpoint,
            )

        names = list(running.containers)
        with ThreadPoolExecutor(max_workers=max(len(names), 1)) as pool:
            described = dict(zip(names, pool.map(describe, names), strict=True))
        return cls(run_id=uuid.uuid4().hex[:8], session_id=SESSION_ID, services=described)

    def of[E](self, service: TestService[Any, E]) -> E:
        """The service's endpoint, as its dataclass."""
        if service.name not in self.services:
            pytest.fail(
                f"{service.name} was not started: no selected test depends on it in its "
                "parameters (a fixture requested with request.getfixturevalue() is invisible "
                "before the run; name it in a test's or a fixture's parameters)"
            )
        return cast("E", self.services[service.name].endpoint)

    def container_ids(self) -> dict[str, str]:
        return {name: service.container_id for name, service in self.services.items()}

    def describe(self) -> list[str]:
        lines = []
        for name, service in self.services.items():
            lines.append(f"{name}: {service.image} at {service.address}")
            lines += [f"{name}: {note}" for note in service.notes]
        return lines

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> ServiceEndpoints:
        data = json.loads(path.read_text())
        services = {}
        for name, fields in data["services"].items():
            endpoint = load(name).endpoint_type(**fields.pop("endpoint"))
            services[name] = StartedService(**fields, endpoint=endpoint)
        return cls(run_id=data["run_id"], session_id=data["session_id"], services=services)


# How conftest reaches the endpoints without importing the plugin module (which pytest must
# import itself, through pytest_plugins, to rewrite its asserts).
ENDPOINTS_PROVIDER = pytest.StashKey[Callable[[], ServiceEndpoints]]()

# The same, for code that pytest does not call with its config (unittest TestCases run by
# pytest); None outside pytest.
_endpoints_of_run: Callable[[], ServiceEndpoints] | None = None


def use_endpoints_of_run(provider: Callable[[], ServiceEndpoints]) -> None:
    global _endpoints_of_run  # one per process, set once by the plugin
    _endpoints_of_run = provider


def endpoints_of_run() -> Callable[[], ServiceEndpoints] | None:
    return _endpoints_of_run
