"""What a command did to Docker: which containers it created, and whether any is left."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker
import docker.errors

SESSION_LABEL = "org.testcontainers.session-id"
# On a container a test starts for itself (a fault test's broker), in the run's session.
FOR_ONE_TEST_LABEL = "tc-service.for-one-test"
STARTED = re.compile(r"test services started in session ([0-9a-f-]{36})")


def session_of(output: str) -> str:
    """The Testcontainers session id the generated suite prints when it starts services."""
    match = STARTED.search(output)
    assert match, f"the run started no services:\n{output}"
    return match.group(1)


@dataclass
class ContainerActivity:
    client: docker.DockerClient
    # (container id, image, labels and name) of every container created in the window
    created: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def of_session(self, session_id: str, *, for_one_test: bool = False) -> list[tuple[str, str]]:
        """The containers of one Testcontainers session: labelled with it, or its Ryuk; the
        run's own, or (`for_one_test`) those single tests started for themselves."""
        return [
            (container_id, image)
            for container_id, image, attributes in self.created
            if (
                attributes.get(SESSION_LABEL) == session_id
                or attributes.get("name") == f"testcontainers-ryuk-{session_id}"
            )
            and (FOR_ONE_TEST_LABEL in attributes) == for_one_test
        ]

    def images(self, session_id: str) -> Counter[str]:
        return Counter(image for _, image in self.of_session(session_id))

    def still_present(self, session_id: str) -> list[str]:
        present = []
        of_session = self.of_session(session_id) + self.of_session(session_id, for_one_test=True)
        for container_id, image in of_session:
            try:
                self.client.containers.get(container_id)
                present.append(image)
            except docker.errors.NotFound:
                continue
        return present


@contextmanager
def watch_containers(engine: str | None = None) -> Iterator[ContainerActivity]:
    """Record the containers created while the block runs (the events of the engine at URL
    `engine`, by default DOCKER_HOST's, by time window)."""
    client = docker.DockerClient(base_url=engine) if engine else docker.from_env()
    activity = ContainerActivity(client)
    since = time.time() - 0.5
    yield activity
    events = client.events(
        since=since,
        until=time.time() + 0.5,
        filters={"type": "container", "event": "create"},
        decode=True,
    )
    activity.created = [
        (event["id"], event["from"], event["Actor"]["Attributes"]) for event in events
    ]


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True
