"""Every use the suite makes of Testcontainers' private API, here and nowhere else, each with
a test (tests/unit/test_testcontainers_internals.py, no engine needed): a Testcontainers
upgrade that changes one of them fails there, by name, rather than somewhere in a run."""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import testcontainers.core.container
import testcontainers.core.labels
from docker.models.containers import Container
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient


def created_container(container: DockerContainer) -> Container | None:
    """The engine's container, once `start()` has created it."""
    created: Container | None = container._container
    return created


def adopt(container: DockerContainer, running: Container) -> None:
    """Make `container` stand for `running`, instead of creating one (reuse)."""
    container._container = running


def configuration(container: DockerContainer) -> dict[str, Any]:
    """Everything that decides what `start()` creates (a module's `_configure`, which adds
    its credentials, included): a change means another container."""
    container._configure()
    copied = [
        (spec[1], hashlib.sha256(spec[0].read_bytes() if isinstance(spec[0], Path) else spec[0]))
        for spec in container._transferable_specs
    ]
    return {
        "class": f"{type(container).__module__}.{type(container).__qualname__}",
        "testcontainers": importlib.metadata.version("testcontainers"),
        "image": container.image,
        "env": container.env,
        "command": container._command,
        "tmpfs": container.tmpfs,
        "ports": sorted(container.ports),
        "copied": [(destination, digest.hexdigest()) for destination, digest in copied],
    }


@contextmanager
def sharing_client(client: DockerClient) -> Iterator[None]:
    """Containers made in the block talk to the engine through `client`: Testcontainers
    makes a client per container (each asking the engine its API version) and takes none."""
    with mock.patch.object(testcontainers.core.container, "DockerClient", return_value=client):
        yield


@contextmanager
def in_session(session_id: str) -> Iterator[None]:
    """Containers started in the block carry `session_id` (Testcontainers labels what it
    starts with its process's session, which it keeps in a module global), so that the
    session's Ryuk reaps them."""
    with mock.patch.object(testcontainers.core.labels, "SESSION_ID", session_id):
        yield


@contextmanager
def reaper_image_as_given() -> Iterator[None]:
    """Ryuk started in the block runs under its image name with the registry prefix already
    in front, and none added. Under TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX, Testcontainers 4.15
    prefixes Ryuk's image, then no longer recognises Ryuk's own container as Ryuk and starts
    a reaper for it, recursively (testcontainers-python#1085)."""
    prefix = testcontainers_config.hub_image_name_prefix
    ryuk_image = testcontainers_config.ryuk_image
    testcontainers_config.hub_image_name_prefix = ""
    testcontainers_config.ryuk_image = prefix + ryuk_image
    try:
        yield
    finally:
        testcontainers_config.hub_image_name_prefix = prefix
        testcontainers_config.ryuk_image = ryuk_image
