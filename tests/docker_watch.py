"""What a command did to Docker: which containers it created, and whether any is left."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker
import docker.errors


@dataclass
class ContainerActivity:
    created: list[tuple[str, str]] = field(default_factory=list)  # (container id, image)

    def images(self) -> Counter[str]:
        return Counter(image for _, image in self.created)

    def still_present(self) -> list[str]:
        client = docker.from_env()
        present = []
        for container_id, image in self.created:
            try:
                client.containers.get(container_id)
                present.append(image)
            except docker.errors.NotFound:
                continue
        return present


@contextmanager
def watch_containers() -> Iterator[ContainerActivity]:
    """Record the containers created while the block runs (docker events, by time window)."""
    client = docker.from_env()
    activity = ContainerActivity()
    since = time.time() - 0.5
    yield activity
    events = client.events(
        since=since,
        until=time.time() + 0.5,
        filters={"type": "container", "event": "create"},
        decode=True,
    )
    activity.created = [(event["id"], event["from"]) for event in events]


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True
