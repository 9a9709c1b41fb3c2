"""The worker as production runs it (a process of its own, configured by its environment)
under broker faults: it stops only when told, and records every event once.

The faults happen to a broker of the test's own (`broker_for_this_test`): the run's broker
serves every other test and worker."""

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from httpx import AsyncClient
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from {{ cookiecutter.package_name }}.config import PACKAGE
from {{ cookiecutter.package_name }}.integrations.kafka import KafkaSettings, UserEvent
from {{ cookiecutter.package_name }}.users.events import UserCreated
from {{ cookiecutter.package_name }}.users.models import User

from tests.support.endpoints import ServiceEndpoints
from tests.support.served import Process, process_of_the_project, served_app_process
from tests.support.services.kafka import (
    KafkaEndpoint,
    KafkaTestContainer,
    KafkaTopic,
    app_settings,
    consume,
    create_topic,
    dead_letters_of,
    ensure_topic,
    eventually,
    produce,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

WORKER = [f"{PACKAGE}.integrations.kafka.worker"]
STOPS_WITHIN_SECONDS = 10


def worker_environment(kafka: KafkaSettings, database_url: str) -> dict[str, str]:
    settings = {f"KAFKA_{name.upper()}": str(value) for name, value in kafka.model_dump().items()}
    return settings | {"DATABASE_URL": database_url, "ENVIRONMENT": "test", "LOG_FORMAT": "json"}


@contextmanager
def worker_process(kafka: KafkaSettings, database_url: str) -> Iterator[Process]:
    with process_of_the_project(WORKER, worker_environment(kafka, database_url)) as worker:
        try:
            yield worker
        except BaseException:
            print("".join(worker.output))  # pytest shows it with the failure
            raise


def assert_stops_cleanly(worker: Process) -> None:
    code, seconds = worker.stop(signal.SIGTERM)
    assert (code, seconds < STOPS_WITHIN_SECONDS) == (0, True), (code, seconds, worker.output[-20:])


@pytest.fixture
async def fresh_engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database)
    yield engine
    await engine.dispose()


async def new_user_event(engine: AsyncEngine, email: str) -> UserCreated:
    """A user committed to the database, and the event the app would publish for it."""
    async with engine.begin() as connection:
        user_id = await connection.scalar(
            insert(User).values(email=email, full_name="U").returning(User.id)
        )
    return UserCreated(user_id=user_id, email=email)


async def recorded(engine: AsyncEngine, event: UserCreated) -> int:
    """How many times the worker recorded `event`."""
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).where(UserEvent.event_id == event.event_id)
        )
    return int(count or 0)


async def recorded_once(engine: AsyncEngine, event: UserCreated) -> None:
    async def is_recorded() -> bool:
        return await recorded(engine, event) > 0

    await eventually(is_recorded, what=f"the worker to record {event.event_id}", within=30)
    assert await recorded(engine, event) == 1


async def test_the_worker_survives_a_failed_dead_letter_and_a_broker_restart(
    broker_for_this_test: KafkaTestContainer,
    kafka: KafkaEndpoint,
    fresh_database: str,
    fresh_engine: AsyncEngine,
) -> None:
    broker = KafkaEndpoint(broker_for_this_test.get_bootstrap_server(), kafka.idempotence, 0)
    container = broker_for_this_test.get_wrapped_container()
    topic = await create_topic(broker.bootstrap_servers)
    dead_letters = await create_topic(broker.bootstrap_servers, name=dead_letters_of(topic))
    settings = app_settings(broker, topic).model_copy(
        update={"send_timeout_seconds": 2, "worker_retry_backoff_seconds": 1}
    )
    with worker_process(settings, fresh_database) as worker:
        first = await new_user_event(fresh_engine, "first@example.com")
        await produce(topic, first.model_dump_json().encode())
        await recorded_once(fresh_engine, first)
        await produce(topic, b"{not json")  # dead-lettered at once
        await consume(dead_letters, 1)

        # Sending a poison message to the dead-letter topic fails: the broker stops
        # answering while the worker retries storing it.
        unknown_user = UserCreated(user_id=999_998, email="ghost@example.com")
        await produce(topic, unknown_user.model_dump_json().encode())
        await worker_logs(worker, f"{unknown_user.event_id} failed (attempt 1)")
        container.pause()
        try:
            await worker_logs(worker, "Kafka unavailable")
        finally:
            container.unpause()
        await consume(dead_letters, 2, within=30)

        # The broker restarts: the group forgets the worker, which rejoins. (A broker that
        # keeps its topics in memory forgets them too: they are created again.)
        await asyncio.to_thread(container.restart, timeout=1)
        await ensure_topic(broker.bootstrap_servers, topic.name)
        await ensure_topic(broker.bootstrap_servers, dead_letters.name)
        second = await new_user_event(fresh_engine, "second@example.com")
        await produce(topic, second.model_dump_json().encode())
        await recorded_once(fresh_engine, second)

        assert worker.popen.poll() is None, worker.output[-20:]
        assert await recorded(fresh_engine, first) == 1
        assert_stops_cleanly(worker)  # while consuming


async def worker_logs(worker: Process, containing: str) -> None:
    await asyncio.to_thread(worker.wait_for_line, containing)


class BlockingRevocation(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds a rebalance open: the member's partitions are never given back."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:  # (a member's first join revokes nothing)
            await self.release.wait()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None


@asynccontextmanager
async def member_holding_a_rebalance(topic: KafkaTopic) -> AsyncIterator[None]:
    """A member of the topic's group that, once another member joins, keeps the group
    rebalancing (the new member waits for an assignment) until the block ends."""
    listener = BlockingRevocation()
    member = AIOKafkaConsumer(bootstrap_servers=topic.bootstrap_servers, group_id=topic.group_id)
    member.subscribe([topic.name], listener=listener)
    await member.start()
    try:
        yield
    finally:
        listener.release.set()
        await member.stop()


async def test_sigterm_stops_the_worker_waiting_for_an_assignment(
    kafka: KafkaEndpoint, kafka_topic: KafkaTopic, fresh_database: str
) -> None:
    async with member_holding_a_rebalance(kafka_topic):
        with worker_process(app_settings(kafka, kafka_topic), fresh_database) as worker:
            await worker_logs(worker, "joining consumer group")
            await asyncio.sleep(1)  # the join is under way, the rebalance held
            assert_stops_cleanly(worker)


async def test_sigterm_stops_the_worker_backing_off(
    kafka: KafkaEndpoint, kafka_topic: KafkaTopic, fresh_database: str
) -> None:
    unreachable = app_settings(kafka, kafka_topic).model_copy(
        update={"bootstrap_servers": "127.0.0.1:1"}
    )
    with worker_process(unreachable, fresh_database) as worker:
        warning = await asyncio.to_thread(worker.wait_for_line, "Kafka unavailable")
        assert json.loads(warning)["level"] == "WARNING"
        assert_stops_cleanly(worker)


async def test_sigterm_stops_the_app_while_its_relay_backs_off(
    services: ServiceEndpoints, every_service: None, fresh_database: str
) -> None:
    environment = {
        "DATABASE_URL": fresh_database,
        "ENVIRONMENT": "test",
        "LOG_FORMAT": "json",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    with served_app_process(services, environment) as app:
        async with AsyncClient(base_url=app.url) as client:
            created = await client.post("/users", json={"email": "a@example.com", "full_name": "A"})
        assert created.status_code == 201
        await asyncio.to_thread(app.wait_for_line, "outbox relay")  # failed: backing off
        assert_stops_cleanly(app)
