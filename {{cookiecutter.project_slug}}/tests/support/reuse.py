"""Keeping the test containers between local runs (opt-in: --reuse-containers or TC_REUSE=1;
--clean-reused-containers removes them).

A reused container carries labels: the project it belongs to, its service name and a hash
of its whole configuration. The next run adopts a running container with the same hash
instead of starting one, and replaces one whose configuration changed. Reuse turns Ryuk
off for the run, since Ryuk's job is to remove what a run leaves behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import docker
from testcontainers.core.container import DockerContainer

from tests.support.testcontainers_internals import adopt, configuration

PROJECT_LABEL = "tc-service.project"
SERVICE_LABEL = "tc-service.service"
CONFIG_LABEL = "tc-service.config-hash"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = PROJECT_ROOT / "migrations"


class ReuseRefusedError(RuntimeError):
    pass


def reuse_requested(flag: bool) -> bool:
    return flag or os.environ.get("TC_REUSE", "") not in ("", "0", "false")


def refuse_on_ci() -> None:
    if os.environ.get("CI"):
        raise ReuseRefusedError(
            "container reuse is refused when CI is set: a CI run starts clean and leaves "
            "nothing behind (drop --reuse-containers / TC_REUSE)"
        )


def project_key() -> str:
    return hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:16]


def config_hash(container: DockerContainer) -> str:
    """Everything that decides what the container is: a change means a new container."""
    config = configuration(container)
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def migrations_hash() -> str:
    """The template database is rebuilt when any migration file changes."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def labelled(container: DockerContainer, service: str) -> DockerContainer:
    labels = {PROJECT_LABEL: project_key(), SERVICE_LABEL: service}
    labels[CONFIG_LABEL] = config_hash(container)
    return container.with_kwargs(labels=labels)


def adopt_or_replace(container: DockerContainer, service: str, client: docker.DockerClient) -> bool:
    """Attach `container` to a running one of the same configuration (True), or remove the
    project's containers of that service whose configuration differs (False). A running one
    of the same configuration is never removed: another run may be using it."""
    wanted = config_hash(container)
    existing = client.containers.list(
        all=True,
        filters={"label": [f"{PROJECT_LABEL}={project_key()}", f"{SERVICE_LABEL}={service}"]},
    )
    adopted = False
    for candidate in existing:
        usable = candidate.status == "running" and candidate.labels.get(CONFIG_LABEL) == wanted
        if usable and not adopted:
            adopt(container, candidate)
            adopted = True
        elif not usable:
            candidate.remove(force=True, v=True)
    return adopted


def remove_project_containers(client: docker.DockerClient) -> int:
    containers = client.containers.list(
        all=True, filters={"label": f"{PROJECT_LABEL}={project_key()}"}
    )
    for container in containers:
        container.remove(force=True, v=True)
    return len(containers)
