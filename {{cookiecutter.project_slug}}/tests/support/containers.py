"""Starting the run's containers, all at once, and stopping them.

Only the process that owns the test session (the xdist controller, or the single pytest
process) calls `start_services`; workers get the endpoints it wrote.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer, Reaper

from tests.support.reuse import adopt_or_replace, labelled
from tests.support.services import TestService

LOG_TAIL_LINES = 40


class DockerUnavailableError(RuntimeError):
    pass


@dataclass
class RunningServices:
    """The run's containers by service; `reused` ones were adopted and outlive this run."""

    services: dict[str, TestService[Any]]
    containers: dict[str, DockerContainer]
    images: dict[str, str]
    started_in_seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    keep_running: bool = False

    def stop(self) -> None:
        if not self.keep_running:
            stop_quietly(self.containers.values())


def ensure_docker() -> None:
    """Fail with what to do, not a docker-py traceback, when no engine answers."""
    try:
        docker.from_env().ping()
    except docker.errors.DockerException as error:
        where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is not set)"
        raise DockerUnavailableError(
            f"Docker is not reachable at {where}: {error}. Integration tests need a Docker "
            "engine: start one, or set DOCKER_HOST to a reachable engine; "
            "`pytest -m 'not integration'` runs the tests that need none."
        ) from error


def start_reaper() -> None:
    """Start the run's Ryuk. With TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX set, Testcontainers 4.15
    prefixes Ryuk's image but then no longer recognises Ryuk's own container, and starts a
    reaper for it, recursively (testcontainers-python#1085); so Ryuk's image is named with the
    prefix already, and nothing is added to it while it starts."""
    if testcontainers_config.ryuk_disabled:
        return
    prefix = testcontainers_config.hub_image_name_prefix
    ryuk_image = testcontainers_config.ryuk_image
    testcontainers_config.hub_image_name_prefix = ""
    testcontainers_config.ryuk_image = prefix + ryuk_image
    try:
        Reaper.get_instance()
    finally:
        testcontainers_config.hub_image_name_prefix = prefix
        testcontainers_config.ryuk_image = ryuk_image


def _start_timed(container: DockerContainer) -> float:
    started = time.perf_counter()
    container.start()
    return time.perf_counter() - started


def start_services(
    services: list[tuple[TestService[Any], str]], workers: int, *, reuse: bool = False
) -> RunningServices:
    """Start every service in parallel threads, so a cold start costs about the slowest one.

    With `reuse`, running containers of the same configuration are adopted instead, and
    what starts is kept running after the run (see tests/support/reuse.py).
    """
    ensure_docker()
    if reuse:
        testcontainers_config.ryuk_disabled = True  # Ryuk would remove what must outlive us
    start_reaper()  # before the threads: the reaper singleton is not thread-safe
    containers = {service.name: service.container(image, workers) for service, image in services}
    running = RunningServices(
        services={service.name: service for service, _ in services},
        containers=containers,
        images={name: container.image for name, container in containers.items()},
        keep_running=reuse,
    )
    to_start = running.containers
    if reuse:
        running.reused = [name for name, c in to_start.items() if adopt_or_replace(c, name)]
        to_start = {
            name: labelled(c, name) for name, c in to_start.items() if name not in running.reused
        }
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(len(to_start), 1)) as pool:
        futures = {name: pool.submit(_start_timed, c) for name, c in to_start.items()}
        for name, future in futures.items():
            try:
                running.started_in_seconds[name] = future.result()
            except Exception as error:
                errors.append(f"{name} ({running.images[name]}): {type(error).__name__}: {error}")
    if errors:
        stop_quietly(to_start.values())
        raise RuntimeError("could not start the test services: " + "; ".join(errors))
    return running


def stop_quietly(containers: Iterable[DockerContainer]) -> None:
    for container in containers:
        with contextlib.suppress(Exception):  # one that never started has nothing to stop
            container.stop()


def container_log_tails(container_ids: dict[str, str]) -> dict[str, str]:
    try:
        client = docker.from_env()
        containers = {name: client.containers.get(id_) for name, id_ in container_ids.items()}
        return {
            name: container.logs(tail=LOG_TAIL_LINES).decode(errors="replace")
            for name, container in containers.items()
        }
    except docker.errors.DockerException as error:
        return {"docker": f"could not read the container logs: {error}"}
