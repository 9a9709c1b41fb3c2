"""Starting the run's containers, all at once, and stopping them.

Only the process that owns the test session (the xdist controller, or the single pytest
process) calls `start_services`; workers get the endpoints it wrote.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer, Reaper
from testcontainers.core.labels import SESSION_ID

from tests.support.container_engine import EngineUnreachableError, engine
from tests.support.images import ensure_image
from tests.support.reuse import adopt_or_replace, labelled
from tests.support.services import TestService
from tests.support.testcontainers_internals import (
    created_container,
    in_session,
    reaper_image_as_given,
)

LOG_TAIL_LINES = 40
FOR_ONE_TEST_LABEL = "tc-service.for-one-test"  # its value: the test's id
ENGINE_HINT = (
    "start Docker or Podman, or point DOCKER_HOST at a running engine (README: Container "
    "engines); `pytest -m 'not integration'` runs the tests that need none"
)
REAPER_HINT = (
    "Ryuk needs the engine's socket mounted: set TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE to "
    "the socket's path as the engine sees it (rootless Podman: /run/user/$UID/podman/"
    "podman.sock), or TESTCONTAINERS_RYUK_PRIVILEGED=true where SELinux refuses the mount; "
    "TESTCONTAINERS_RYUK_DISABLED=true runs without it, and a killed run then leaves its "
    "containers behind"
)


class StartFailure(RuntimeError):
    """A failure while starting the services, as one line: the stage, the service, the
    exception and what to try. `details` (a container's last log lines) and the traceback
    (`__cause__`) are for the log file."""

    def __init__(
        self, stage: str, service: str | None, error: BaseException, hint: str, details: str = ""
    ) -> None:
        where = f"{stage} ({service})" if service else stage
        first_line = next(iter(str(error).strip().splitlines()), "")[:300]
        super().__init__(f"{where} failed: {type(error).__name__}: {first_line}. Try: {hint}")
        self.details = details

    def write_log(self) -> Path:
        """The whole story, for the log file the one-line message points at."""
        path = Path(tempfile.gettempdir()) / f"tc-service-{SESSION_ID}.log"
        story = "".join(traceback.format_exception(self))
        path.write_text(f"{story}\n{self.details}" if self.details else story)
        return path


@dataclass
class RunningServices:
    """The run's containers by service; `reused` ones were adopted and outlive this run."""

    services: dict[str, TestService[Any, Any]]
    containers: dict[str, DockerContainer]
    images: dict[str, str]
    started_in_seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    keep_running: bool = False

    def stop(self) -> None:
        if not self.keep_running:
            stop_quietly(self.containers.values())
            remove_reaper()


def start_reaper() -> None:
    """Start the run's Ryuk, or remove what its failed setup left."""
    if testcontainers_config.ryuk_disabled:
        return
    ryuk_image = testcontainers_config.hub_image_name_prefix + testcontainers_config.ryuk_image
    try:
        ensure_image(engine().docker, ryuk_image)
    except docker.errors.DockerException as error:
        stage = "pulling the reaper's image (Ryuk)"
        raise StartFailure(stage, None, error, pull_hint(ryuk_image)) from error
    try:
        with reaper_image_as_given():
            Reaper.get_instance()
    except Exception as error:
        remove_reaper()
        raise StartFailure("starting the reaper (Ryuk)", None, error, REAPER_HINT) from error


class ReaperStartedEarly:
    """The run's Ryuk, started in a thread while the tests are collected: a cold run otherwise
    waits for it (0.7 s here) before any service starts."""

    def __init__(self) -> None:
        self.started = False
        self.failure: StartFailure | None = None
        self.thread = threading.Thread(target=self.start, name="tc-service-reaper", daemon=True)
        self.thread.start()

    def start(self) -> None:
        try:
            with engine().shared():
                start_reaper()
            self.started = True
        except StartFailure as failure:
            self.failure = failure
        except EngineUnreachableError:
            pass  # start_services says so, in its own words

    def wait(self) -> None:
        """Until it is up; raises the StartFailure of a reaper that could not start."""
        self.thread.join()
        if self.failure is not None:
            raise self.failure

    def remove(self) -> None:
        """For a run that started no service after all (a failed start removed its own)."""
        self.thread.join()
        if self.started:
            remove_reaper()


def remove_reaper() -> None:
    """Ryuk, whether its setup finished or not (it reaps nothing once we stopped ours)."""
    with contextlib.suppress(Exception):
        Reaper.delete_instance()
    with contextlib.suppress(docker.errors.DockerException):
        engine().docker.containers.get(f"testcontainers-ryuk-{SESSION_ID}").remove(force=True)


def free_port() -> int:
    """A port of this host nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pull_hint(image: str) -> str:
    return (
        f"`docker pull {image}` shows why; check its tag in compose.yaml, and behind a "
        "registry mirror set TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX"
    )


def _start_timed(name: str, container: DockerContainer) -> float:
    started = time.perf_counter()
    try:
        ensure_image(engine().docker, container.image)
    except docker.errors.DockerException as error:
        raise StartFailure("pulling its image", name, error, pull_hint(container.image)) from error
    try:
        container.start()
    except Exception as error:
        created = created_container(container)
        stage = "waiting for it to be ready" if created else "creating its container"
        tail = ""
        with contextlib.suppress(Exception):
            tail = created.logs(tail=LOG_TAIL_LINES).decode(errors="replace") if created else ""
        hint = (
            "its last log lines are in the log file; its container settings are in "
            f"tests/support/services/{name}.py"
        )
        raise StartFailure(stage, name, error, hint, details=tail) from error
    return time.perf_counter() - started


def start_services(
    services: list[tuple[TestService[Any, Any], str]], workers: int, *, reuse: bool = False
) -> RunningServices:
    """Start every service in parallel threads, so a cold start costs about the slowest one.

    With `reuse`, running containers of the same configuration are adopted instead, and
    what starts is kept running after the run (see tests/support/reuse.py). A failure
    leaves nothing running and raises StartFailure.
    """
    try:
        current = engine()
    except EngineUnreachableError as error:
        stage = f"connecting to the container engine at {error.where}"
        raise StartFailure(stage, None, error.__cause__ or error, ENGINE_HINT) from error
    if reuse:
        testcontainers_config.ryuk_disabled = True  # Ryuk would remove what must outlive us
    with current.shared():
        start_reaper()  # before the threads: the reaper singleton is not thread-safe
        containers = {
            service.name: service.container(image, workers) for service, image in services
        }
    running = RunningServices(
        services={service.name: service for service, _ in services},
        containers=containers,
        images={name: container.image for name, container in containers.items()},
        keep_running=reuse,
    )
    to_start = running.containers
    if reuse:
        running.reused = [
            name for name, c in to_start.items() if adopt_or_replace(c, name, current.docker)
        ]
        to_start = {
            name: labelled(c, name) for name, c in to_start.items() if name not in running.reused
        }
    failures: list[StartFailure] = []
    with ThreadPoolExecutor(max_workers=max(len(to_start), 1)) as pool:
        futures = {name: pool.submit(_start_timed, name, c) for name, c in to_start.items()}
        for name, future in futures.items():
            try:
                running.started_in_seconds[name] = future.result()
            except StartFailure as failure:
                failures.append(failure)
    if failures:
        stop_quietly(to_start.values())
        remove_reaper()
        first, *others = failures
        for other in others:  # the message names the first; the log tells them all
            first.details += "\n" + "".join(traceback.format_exception(other)) + other.details
        raise first
    return running


def stop_quietly(containers: Iterable[DockerContainer]) -> None:
    for container in containers:
        with contextlib.suppress(Exception):  # one that never started has nothing to stop
            container.stop()


def container_log_tails(container_ids: dict[str, str]) -> dict[str, str]:
    try:
        client = engine().docker
        containers = {name: client.containers.get(id_) for name, id_ in container_ids.items()}
        return {
            name: container.logs(tail=LOG_TAIL_LINES).decode(errors="replace")
            for name, container in containers.items()
        }
    except docker.errors.DockerException as error:
        return {"docker": f"could not read the container logs: {error}"}


@contextlib.contextmanager
def container_for_one_test[C: DockerContainer](
    container: C, session_id: str, test: str
) -> Iterator[C]:
    """Start `container` from a worker, for one test that disturbs it (a fault test pauses or
    restarts it: the run's own containers serve every test and worker), and stop it after.

    It joins the run's Testcontainers session, so the run's one Ryuk reaps it if the run is
    killed, and the worker starts no Ryuk of its own.
    """
    container.with_kwargs(labels={FOR_ONE_TEST_LABEL: test})
    ensure_image(engine().docker, container.image)
    ryuk_disabled = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True
    try:
        with in_session(session_id):
            container.start()
        yield container
    finally:
        testcontainers_config.ryuk_disabled = ryuk_disabled
        stop_quietly([container])
