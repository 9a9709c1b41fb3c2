"""The container engine: one client per process, and how the suite reaches mapped ports.

Docker, Podman (rootful or rootless), Colima or a remote engine: whatever DOCKER_HOST (or
the Docker context) names. Testcontainers guesses how to reach a container's mapped ports.
Inside a container (a dev container, a CI job container: the file /.dockerenv) it reads the
gateway of the network it runs in from the engine's container list, and makes every test
container join that network. Two places where that guess breaks are common:

- Podman's container list has no `HostConfig`, so the lookup fails (`KeyError: 'HostConfig'`);
- a job container on the host network makes each test container join `host` with its port
  bindings, which Docker refuses ("host network_mode is incompatible with port_bindings").

There the suite reaches the ports on the engine's host instead (Testcontainers' docker_host
mode, as outside a container). TESTCONTAINERS_CONNECTION_MODE or TESTCONTAINERS_HOST_OVERRIDE
(TC_HOST), when set, always win.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import docker
import docker.constants
import docker.errors
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.docker_client import DockerClient, get_docker_host
from testcontainers.core.utils import inside_container

from tests.support.testcontainers_internals import sharing_client

# docker-py's default when neither DOCKER_HOST nor a Docker context names an engine.
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class EngineUnreachableError(RuntimeError):
    def __init__(self, where: str, error: Exception) -> None:
        super().__init__(f"no container engine answers at {where}: {error}")
        self.where = where


@dataclass(frozen=True)
class Engine:
    client: DockerClient  # Testcontainers' wrapper; `.client` is docker-py's
    name: str  # "Docker Engine 28.2.2", "Podman Engine 4.3.1"
    url: str
    mode: ConnectionMode
    mode_reason: str

    @property
    def docker(self) -> docker.DockerClient:
        return self.client.client

    def describe(self) -> str:
        how = f"mapped ports through {self.mode.value} ({self.mode_reason})"
        return f"{self.name} at {self.url}; {how}"

    def shared(self) -> AbstractContextManager[None]:
        """Containers created in this block talk to the engine through this one client: each
        new client asks the engine its API version (0.5 s on Podman 4.3). Single-threaded:
        before the start threads."""
        return sharing_client(self.client)


_engine: Engine | None = None


def engine() -> Engine:
    """The process's engine, connected on first use (a run without integration tests never
    needs one)."""
    global _engine
    if _engine is None:
        _engine = connect()
    return _engine


def connect() -> Engine:
    configured = get_docker_host()
    url = configured or DEFAULT_SOCKET
    try:
        # One round trip (0.45 s on Podman 4.3): /version names the engine and the API version
        # to speak, which a client otherwise asks for again when it is made.
        unversioned = DockerClient(version=docker.constants.MINIMUM_DOCKER_API_VERSION)
        version = ask_version(unversioned)
        client = DockerClient(version=version["ApiVersion"])
    except docker.errors.DockerException as error:
        where = url if configured else f"{url} (DOCKER_HOST is not set)"
        raise EngineUnreachableError(where, error) from error
    name = engine_name(version)
    mode, reason = choose_connection_mode(client, is_podman="podman" in name.lower())
    if mode is ConnectionMode.docker_host and not configured:
        # Otherwise Testcontainers still makes each container join the network of the
        # container this process runs in (`host`, in a host-network job container).
        os.environ["DOCKER_HOST"] = url
    testcontainers_config.connection_mode_override = mode
    if not os.environ.get("TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE"):
        # The socket Ryuk mounts, which Testcontainers would ask a client of its own for.
        adapter = client.client.api.get_adapter(client.client.api.base_url)
        socket_path = getattr(adapter, "socket_path", None) or "/var/run/docker.sock"
        testcontainers_config.ryuk_docker_socket = socket_path
    return Engine(client=client, name=name, url=url, mode=mode, mode_reason=reason)


def ask_version(client: DockerClient) -> dict[str, Any]:
    """The engine's /version answer. A client made with a version has not talked to the
    engine yet, so a refused connection surfaces here, as an error of requests (an
    OSError); it is reported as docker-py reports it when it asks for the version itself."""
    try:
        answer: dict[str, Any] = client.client.api.version(api_version=False)
    except OSError as error:
        raise docker.errors.DockerException(
            f"Error while fetching server API version: {error}"
        ) from error
    return answer


def engine_name(version: dict[str, Any]) -> str:
    platform = (version.get("Platform") or {}).get("Name", "")
    components = [c.get("Name", "") for c in version.get("Components") or []]
    if "podman" in " ".join([platform, *components]).lower():
        return f"Podman Engine {version.get('Version', '?')}"
    return f"{platform or 'Docker Engine'} {version.get('Version', '?')}".strip()


def choose_connection_mode(client: DockerClient, *, is_podman: bool) -> tuple[ConnectionMode, str]:
    """How to reach mapped ports, and why."""
    explicit = testcontainers_config.connection_mode_override
    if explicit is not None:
        return explicit, "TESTCONTAINERS_CONNECTION_MODE"
    if testcontainers_config.tc_host_override:
        return ConnectionMode.docker_host, "TESTCONTAINERS_HOST_OVERRIDE"
    if not inside_container():
        return ConnectionMode.docker_host, "not inside a container"
    if is_podman:
        return ConnectionMode.docker_host, "the engine is Podman: its container list has no gateway"
    if client.find_host_network() == "host":
        return ConnectionMode.docker_host, "this container runs on the host network"
    if not gateway_lookup_works(client):
        return ConnectionMode.docker_host, "the engine's container list has no network settings"
    return client.get_connection_mode(), "Testcontainers' choice inside a container"


def gateway_lookup_works(client: DockerClient) -> bool:
    """Whether the engine lists containers with what Testcontainers reads to find their
    gateway (any container will do; with none, there is nothing to tell by)."""
    listed = client.client.api.containers(all=True, limit=1)
    return not listed or ("HostConfig" in listed[0] and "NetworkSettings" in listed[0])
