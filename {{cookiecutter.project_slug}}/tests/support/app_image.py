"""The app's container image under test: built from the Dockerfile, run beside the run's
service containers, each reachable from it under its compose service name.

Tests marked `image` use it; they run only with `pytest --image` (a plain run skips them,
saying so), because building the image takes a while and needs the docker CLI with BuildKit.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container
from testcontainers.core.config import ConnectionMode
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.labels import LABEL_SESSION_ID, LABEL_TESTCONTAINERS

from tests.support.container_engine import engine
from tests.support.endpoints import ServiceEndpoints
from tests.support.served import becomes_live
from tests.support.services import app_environments

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP_PORT = 8000
BUILD_OUTPUT_LINES = 40
LOG_TAIL_LINES = 40


class ImageBuildError(RuntimeError):
    pass


def image_tag(project_root: Path = PROJECT_ROOT) -> str:
    project = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]
    return f"{project['name']}:under-test"


def build_app_image(project_root: Path = PROJECT_ROOT) -> str:
    """Build the Dockerfile as `docker compose build` would (BuildKit, which its cache
    mounts need); the engine's build cache makes a rebuild of unchanged sources quick."""
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise ImageBuildError("building the image needs the docker CLI (with buildx) on PATH")
    tag = image_tag(project_root)
    build = subprocess.run(
        [docker_cli, "buildx", "build", "--load", "--tag", tag, str(project_root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        tail = "\n".join(build.stderr.splitlines()[-BUILD_OUTPUT_LINES:])
        raise ImageBuildError(f"`docker buildx build` of {project_root} failed:\n{tail}")
    return tag


@dataclass(frozen=True)
class ServiceHost:
    network: str
    address: str


def service_host(client: docker.DockerClient, container_id: str) -> ServiceHost:
    """The network a service container runs on (Testcontainers starts them all on the same
    one) and its address there."""
    networks = client.containers.get(container_id).attrs["NetworkSettings"]["Networks"]
    network, settings = next(iter(networks.items()))
    return ServiceHost(network, settings["IPAddress"])


@dataclass(frozen=True)
class AppContainer:
    url: str  # on the host
    configured_for: frozenset[str]  # the services whose variables it was given


class AppNotLiveError(RuntimeError):
    pass


def wait_until_live(url: str, container: Container, timeout: float = 60) -> None:
    def running() -> bool:
        container.reload()
        return bool(container.status != "exited")

    if not becomes_live(url, running, timeout):
        logs = container.logs(tail=LOG_TAIL_LINES).decode(errors="replace")
        raise AppNotLiveError(f"the app's container did not answer {url}/health/live:\n{logs}")


@contextmanager
def app_in_container(
    image: str, services: ServiceEndpoints, environment: dict[str, str]
) -> Iterator[AppContainer]:
    """Run `image` on the services' network until exit, each service answering to its
    compose name. `environment` goes over what the services' modules give
    (tests/support/services/, `app_environment`).

    The app joins the services' network rather than the services joining one of its own:
    connecting a running container to another network can re-publish its ports on new host
    ports (Docker 20.10 does), which would pull them from under the run's other tests. It
    carries the run's Testcontainers session, so that the run's one Ryuk reaps it if the run
    is killed: starting it through Testcontainers here, in an xdist worker, would start a
    Ryuk for the worker.
    """
    client = engine().client
    hosts = {
        name: service_host(client.client, service.container_id)
        for name, service in services.services.items()
    }
    service_environments = app_environments(services, on_network=True)
    variables = {key: value for env in service_environments.values() for key, value in env.items()}
    container = client.client.containers.run(
        image,
        detach=True,
        environment=variables | environment,
        ports={f"{APP_PORT}/tcp": None},
        network=next(iter(hosts.values())).network,
        extra_hosts={name: host.address for name, host in hosts.items()},
        labels=session_labels(services),
    )
    try:
        url = f"http://{mapped_address(client, str(container.id), APP_PORT)}"  # set by run()
        wait_until_live(url, container)
        configured = frozenset(name for name, env in service_environments.items() if env)
        yield AppContainer(url, configured)
    finally:
        container.remove(force=True)


def exit_of(
    image: str, services: ServiceEndpoints, environment: dict[str, str], timeout: float = 30
) -> tuple[int | None, str]:
    """Run `image` with `environment` alone: its exit code (None if it still ran after
    `timeout` seconds) and its log."""
    container = engine().docker.containers.run(
        image, detach=True, environment=environment, labels=session_labels(services)
    )
    try:
        deadline = time.monotonic() + timeout
        while container.status != "exited" and time.monotonic() < deadline:
            time.sleep(0.25)
            container.reload()
        exit_code = container.attrs["State"]["ExitCode"] if container.status == "exited" else None
        return exit_code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def session_labels(services: ServiceEndpoints) -> dict[str, str]:
    """The run's Testcontainers session: its one Ryuk reaps the container if the run dies."""
    return {LABEL_TESTCONTAINERS: "true", LABEL_SESSION_ID: services.session_id}


def mapped_address(client: DockerClient, container_id: str, port: int) -> str:
    """Where the host reaches `port` of the container, as Testcontainers reaches services."""
    mode = client.get_connection_mode()
    if mode == ConnectionMode.gateway_ip:
        host = client.gateway_ip(container_id)
    elif mode == ConnectionMode.bridge_ip:
        host = client.bridge_ip(container_id)
    else:
        host = client.host()
    return f"{host}:{client.port(container_id, port) if mode.use_mapped_port else port}"
