"""The generated docs/adding-a-service.md, followed literally on a fresh bake: RabbitMQ as a
fifth service and a second event publisher (needs Docker)."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import pytest

from tests.docker_watch import session_of, wait_until, watch_containers
from tests.helpers import (
    AS_A_BACKGROUND_JOB,
    WITHOUT_FAULT_TESTS,
    Background,
    bake,
    compose_image_of,
    project_images,
    pytest_in,
    run,
    synced,
)
from tests.walkthrough import follow

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

DOC = Path("docs") / "adding-a-service.md"
# A third publisher, named to sort before `kafka` (RabbitMQ's sorts after it): each of the
# three gets every event whatever the order of their names.
AUDIT_INTEGRATION = """
from contextlib import asynccontextmanager

from acme_users.events import event_publishers


class AuditLog:
    def __init__(self):
        self.events = []

    async def add(self, session, event, *, key):
        self.events.append(event)


class AuditIntegration:
    name = "audit"
    required = False
    routers = ()

    @asynccontextmanager
    async def lifespan(self, app, settings):
        app.state.audit_log = AuditLog()
        event_publishers(app).register(self.name, app.state.audit_log)
        yield None


INTEGRATION = AuditIntegration()
"""
EVERY_PUBLISHER_TEST = """
import pytest
from sqlalchemy import select

from acme_users.integrations.kafka import OutboxEvent

pytestmark = pytest.mark.integration


async def test_every_publisher_gets_the_event(app, client, db_session):
    response = await client.post("/users", json={"email": "bo@example.com", "full_name": "Bo"})

    [audited] = app.state.audit_log.events
    [outboxed] = (await db_session.scalars(select(OutboxEvent))).all()
    assert audited.user_id == response.json()["id"]
    assert outboxed.event_id == audited.event_id
"""
REUSE = ("--reuse-containers",)
ON_A_LAPTOP = {"CI": ""}  # reuse is for local runs


def test_rabbitmq_by_the_docs_runs_once_per_run_is_reused_pre_pulled_and_publishes(
    tmp_path: Path,
) -> None:
    project = synced(bake(tmp_path))
    touched = follow(project, project / DOC, until="uv run pytest")
    image = compose_image_of(project)["rabbitmq"]
    assert sorted(touched) == sorted(
        [
            "compose.yaml",
            "src/acme_users/integrations/rabbitmq/__init__.py",
            "tests/support/services/rabbitmq.py",
            "tests/integration/test_rabbitmq.py",
            ".env.example",
        ]
    )

    # The tests that use every service (health, with the new one among them) and the new
    # service's own: the rest of the suite is the default bake's, run elsewhere.
    with watch_containers() as activity:
        suite = pytest_in(
            project,
            *("-n", "2", "tests/unit", "tests/integration/test_health.py"),
            "tests/integration/test_rabbitmq.py",
            env={"PYTEST_ADDOPTS": shlex.join(WITHOUT_FAULT_TESTS)},
        )
    output = suite.stdout + suite.stderr
    assert suite.returncode == 0, output
    assert f"rabbitmq: {image} at " in suite.stdout
    session = session_of(suite.stdout)
    assert activity.images(session) == Counter(project_images(project))
    assert activity.images(session)[image] == 1
    listed = run(project, "uv", "run", "python", "-m", "tests.support.images", "list")
    assert image in listed.stdout.split()

    integrations = project / "src" / "acme_users" / "integrations"
    (integrations / "audit").mkdir()
    (integrations / "audit" / "__init__.py").write_text(AUDIT_INTEGRATION)
    (project / "tests" / "integration" / "test_every_publisher.py").write_text(EVERY_PUBLISHER_TEST)
    selected = ("tests/integration/test_every_publisher.py", "tests/integration/test_rabbitmq.py")
    try:
        first = pytest_in(project, *REUSE, *selected, env=ON_A_LAPTOP)
        second = pytest_in(project, *REUSE, *selected, env=ON_A_LAPTOP)
    finally:
        cleaned = pytest_in(project, "--clean-reused-containers")
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"rabbitmq reused", second.stdout), second.stdout
    assert cleaned.returncode == 0

    with watch_containers() as activity:
        dev = Background(
            project,
            *AS_A_BACKGROUND_JOB,
            *("uv", "run", "python", "-m", "tests.support.dev", "--port", "0"),
        )
        try:
            ready = dev.wait_for_line("dev mode ready in session")
            dev.wait_for_line("RABBITMQ_URL=amqp://")
        finally:
            returncode, output = dev.interrupt()
    dev_session = ready.split("session ")[1].rstrip(":\n")
    assert returncode == 0, output
    assert activity.images(dev_session)[image] == 1
    assert wait_until(lambda: not activity.still_present(dev_session), seconds=30)
