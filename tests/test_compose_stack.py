"""The generated README's first command on a fresh bake: `docker compose up --build` (needs
Docker with the compose and buildx plugins); then the stack under load and faults, black-box:
the app as its image runs, the worker, real containers."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import yaml

from tests.helpers import bake, is_stand_in, run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

APP = "http://127.0.0.1:8000"
# The stand-in broker grants no producer ids (../shared/offline-images/README.md); real
# images keep the app's default, idempotence on.
NO_IDEMPOTENCE = {"environment": {"KAFKA_ENABLE_IDEMPOTENCE": "false"}}


def request(method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(
        APP + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(sent, timeout=10) as response:
        return response.status, json.loads(response.read())


def left_behind(project_name: str) -> list[str]:
    client = docker.from_env()
    label = {"label": f"com.docker.compose.project={project_name}"}
    containers = [c.name for c in client.containers.list(all=True, filters=label)]
    volumes = [v.name for v in client.volumes.list(filters=label)]
    networks = [n.name for n in client.networks.list(filters=label)]
    return containers + volumes + networks


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    status: int
    problem_type: str | None
    retry_after: str | None


def post_user(email: str) -> Answer:
    started = time.monotonic()
    sent = urllib.request.Request(
        APP + "/users",
        data=json.dumps({"email": email, "full_name": "Load"}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return Answer(started, time.monotonic(), response.status, None, None)
    except urllib.error.HTTPError as error:
        is_problem = error.headers.get_content_type() == "application/problem+json"
        problem = json.loads(error.read()) if is_problem else {}
        retry_after = error.headers.get("Retry-After")
        return Answer(started, time.monotonic(), error.code, problem.get("type"), retry_after)


class Load:
    """POST /users at a steady rate from `concurrency` client threads until stopped."""

    def __init__(self, per_second: float, concurrency: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.answers: list[Future[Answer]] = []
        self.per_second = per_second
        self.running = threading.Event()
        self.thread = threading.Thread(target=self._submit, daemon=True)

    def __enter__(self) -> Load:
        self.running.set()
        self.thread.start()
        return self

    def _submit(self) -> None:
        while self.running.is_set():
            email = f"load-{uuid.uuid4().hex}@example.com"
            self.answers.append(self.pool.submit(post_user, email))
            time.sleep(1 / self.per_second)

    def __exit__(self, *exc_info: object) -> None:
        self.running.clear()
        self.thread.join()
        self.pool.shutdown(wait=True)


# Run in the worker's container when events did not arrive: what the broker holds for the
# worker (each partition's end offset, the group's committed offsets), to tell an event the
# broker never got from one the worker did not read.
BROKER_STATE = """
import asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from acme_users.integrations.kafka.settings import KafkaSettings

async def main():
    settings = KafkaSettings()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=settings.worker_group_id
    )
    await consumer.start()
    try:
        await consumer.topics()
        topic = settings.user_events_topic
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(partitions)
        for partition in sorted(partitions):
            committed = await consumer.committed(partition)
            print(partition.partition, "end", ends[partition], "committed", committed)
    finally:
        await consumer.stop()

asyncio.run(main())
"""


def test_a_fresh_bake_runs_its_compose_stack_and_holds_under_load_and_faults(
    tmp_path: Path,
) -> None:
    project = bake(tmp_path)  # with the uv.lock the post-gen hook created
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    stand_in_broker = is_stand_in(services["kafka"]["image"])
    if stand_in_broker:
        override = {"services": {"app": NO_IDEMPOTENCE, "worker": NO_IDEMPOTENCE}}
        (project / "compose.override.yaml").write_text(yaml.safe_dump(override))
    (project / "postgres" / "initdb.d" / "10-reporting-role.sql").write_text(
        "CREATE ROLE reporting NOLOGIN;\n"
    )
    name = f"tcstack-{uuid.uuid4().hex[:8]}"
    compose = ("docker", "compose", "--project-name", name)

    def sql(query: str) -> str:
        ran = run(
            project,
            *compose,
            "exec", "-T", "postgres",
            "psql", "-U", "postgres", "-d", "acme_users", "-tAc", query,
        )  # fmt: skip
        return ran.stdout.strip() if ran.returncode == 0 else ""

    def all_recorded(within: float) -> tuple[int, int, int]:
        """Users, users with a recorded event, recorded events: once the worker has caught up."""
        deadline = time.monotonic() + within
        while True:
            counts = sql(
                "SELECT (SELECT count(*) FROM users), (SELECT count(DISTINCT user_id) FROM"
                " user_events), (SELECT count(*) FROM user_events)"
            )
            users, with_event, events = (
                [int(n) for n in counts.split("|")] if counts else [0, -1, 0]
            )
            if users == with_event or time.monotonic() > deadline:
                return users, with_event, events
            time.sleep(1)

    def container_id(service: str) -> str:
        """Its one container's id (compose prints a JSON object a line, or one array)."""
        listed = run(project, *compose, "ps", "--all", "--format", "json", service).stdout
        found = [json.loads(line) for line in listed.splitlines() if line.strip()]
        [container] = found[0] if found and isinstance(found[0], list) else found
        return str(container["ID"])

    def diagnosis() -> str:
        """Where the events that did not arrive are: the outbox, the broker, the worker's log."""
        pending = sql("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
        broker = run(project, *compose, "exec", "-T", "worker", "python", "-c", BROKER_STATE)
        log = run(project, *compose, "logs", "--no-color", "worker").stdout.splitlines()
        not_per_event = [line for line in log if " stored" not in line and "recorded" not in line]
        return "\n".join(
            [
                f"events waiting in the outbox: {pending}",
                "the broker, by partition:",
                broker.stdout + broker.stderr,
                "the worker's log, less each event's line:",
                *not_per_event[-60:],
            ]
        )

    missing_events = ""
    try:
        up = run(project, *compose, "up", "--build", "--wait", "--wait-timeout", "240")
        assert up.returncode == 0, up.stdout + up.stderr
        assert request("GET", "/health/ready")[0] == 200
        assert sql("SELECT 1 FROM pg_roles WHERE rolname = 'reporting'") == "1"  # init script
        built = {
            service: docker.from_env().containers.get(container_id(service)).image.id
            for service in ("migrate", "app", "worker")
        }
        assert len(set(built.values())) == 1, built  # one image, built once, run by each
        assert request("POST", "/users", {"email": "ada@example.com", "full_name": "Ada"})[0] == 201
        assert all_recorded(within=60)[:2] == (1, 1)  # the worker recorded the event

        # Load at concurrency 32; the broker paused for 30 s; PostgreSQL restarted meanwhile.
        with Load(per_second=8, concurrency=32) as load:
            time.sleep(3)
            assert run(project, *compose, "pause", "kafka").returncode == 0
            time.sleep(5)
            outage_began = time.monotonic()
            assert run(project, *compose, "restart", "postgres").returncode == 0
            while sql("SELECT 1") != "1":
                time.sleep(0.2)
            outage_ended = time.monotonic()
            time.sleep(25 - (outage_ended - outage_began))
            assert run(project, *compose, "unpause", "kafka").returncode == 0
            time.sleep(10)
        answers = [future.result() for future in load.answers]
        users, with_event, events = all_recorded(within=90)

        # Then the broker restarts, with the load stopped; the next users' events arrive.
        assert run(project, *compose, "restart", "kafka").returncode == 0
        after_restart = [post_user(f"after-{n}@example.com") for n in range(5)]
        assert [answer.status for answer in after_restart] == [201] * 5
        users_at_end, with_event_at_end, events_at_end = all_recorded(within=90)
        if with_event_at_end != users_at_end:
            missing_events = diagnosis()
        restarts = {
            service: docker.from_env().containers.get(container_id(service)).attrs["RestartCount"]
            for service in ("app", "worker")
        }
    finally:
        down = run(project, *compose, "down", "--volumes", "--rmi", "local")

    statuses = Counter(answer.status for answer in answers)
    print(  # the figures of the run, for the record
        f"requests {len(answers)}, statuses {dict(statuses)}; users {users}: events recorded"
        f" {events}, lost {users - with_event}, duplicated {events - with_event}; after the"
        f" broker's restart: users {users_at_end}, events {events_at_end}; restarts {restarts}"
    )
    assert statuses[201] > 300
    failed = [answer for answer in answers if answer.status != 201]
    for answer in failed:  # a 503 to retry, and only while the database was down
        assert (answer.status, answer.problem_type, answer.retry_after) == (
            503,
            "/problems/database-unavailable",
            "5",
        ), answer
        assert answer.ended >= outage_began, answer
        assert answer.started <= outage_ended + 2, answer
    assert (users, with_event, events) == (users, users, users)  # none lost, none twice
    assert (with_event_at_end, events_at_end) == (users_at_end, users_at_end), missing_events
    assert restarts == {"app": 0, "worker": 0}
    assert down.returncode == 0, down.stderr
    assert left_behind(name) == []
