import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Settings
from {{ cookiecutter.package_name }}.db import create_engine, create_session_factory
from {{ cookiecutter.package_name }}.events import event_publishers
from {{ cookiecutter.package_name }}.integrations.kafka import KafkaSettings, UserEvent
from {{ cookiecutter.package_name }}.integrations.kafka.outbox import (
    OutboxEvent,
    OutboxRelay,
)
from {{ cookiecutter.package_name }}.integrations.kafka.worker import (
    EventWorker,
    Stopped,
    run_worker,
)
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.users.events import USER_CREATED, UserCreated

from tests.support.app import app_client, assert_serving_without
from tests.support.services.kafka import (
    KafkaEndpoint,
    KafkaTopic,
    app_settings,
    committed_offset,
    consume,
    eventually,
    produce,
)

pytestmark = pytest.mark.integration

ADA = {"email": "ada@example.com", "full_name": "Ada"}
UNREACHABLE_BROKER = "127.0.0.1:1"


@pytest.fixture
def event_settings(
    settings: Settings, fresh_database: str, kafka: KafkaEndpoint, kafka_topic: KafkaTopic
) -> Settings:
    """The app and the worker commit for real here, so they share a fresh database."""
    kafka_settings = app_settings(kafka, kafka_topic).model_copy(
        update={"worker_retry_backoff_seconds": 0.01}
    )
    fresh = settings.model_copy(update={"database": DatabaseSettings(url=fresh_database)})
    return fresh.with_integration(kafka_settings)


def with_broker_at(settings: Settings, bootstrap_servers: str) -> Settings:
    kafka = settings.integration(KafkaSettings)
    return settings.with_integration(
        kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    )


@pytest.fixture
async def fresh_engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def worker_consumes(settings: Settings, topic: KafkaTopic, deliveries: int) -> None:
    """Run the worker until its group has committed past `deliveries` records."""

    group_id = settings.integration(KafkaSettings).worker_group_id

    async def consumed_all() -> bool:
        return await committed_offset(topic, group_id) >= deliveries

    async with running_worker(settings):
        await eventually(consumed_all, what=f"the worker to consume {deliveries} records")


async def recorded_events(engine: AsyncEngine) -> list[UserEvent]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(UserEvent))
    return [UserEvent(**row._mapping) for row in rows]


async def pending_outbox_events(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        pending = await connection.scalar(
            text("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
        )
    return int(pending or 0)


async def test_created_user_is_published_keyed_by_user_id(
    event_settings: Settings, kafka_topic: KafkaTopic
) -> None:
    async with app_client(create_app(event_settings)) as client:
        response = await client.post("/users", json=ADA)
        [record] = await consume(kafka_topic, 1)
    user_id = response.json()["id"]

    event = UserCreated.model_validate_json(record.value)
    assert record.key == str(user_id).encode()
    assert (event.event_type, event.user_id, event.email) == ("user.created", user_id, ADA["email"])


async def test_an_event_added_in_a_savepoint_that_rolls_back_leaves_the_outbox(
    app: FastAPI, db_session: AsyncSession
) -> None:
    events = event_publishers(app)
    kept = UserCreated(user_id=1, email="kept@example.com")
    dropped = UserCreated(user_id=1, email="dropped@example.com")

    async def add_in_a_savepoint_that_fails() -> None:
        async with db_session.begin_nested():
            await events.add(db_session, dropped, key="1")
            raise LookupError("the change the event described failed")

    await events.add(db_session, kept, key="1")
    with pytest.raises(LookupError):
        await add_in_a_savepoint_that_fails()

    assert (await db_session.scalars(select(OutboxEvent.event_id))).all() == [kept.event_id]


async def test_worker_records_a_redelivered_event_once(
    event_settings: Settings, kafka_topic: KafkaTopic, fresh_engine: AsyncEngine
) -> None:
    async with app_client(create_app(event_settings)) as client:
        response = await client.post("/users", json=ADA)
        [record] = await consume(kafka_topic, 1)
    await produce(kafka_topic, record.value, key=record.key)  # the same event, delivered again

    await worker_consumes(event_settings, kafka_topic, deliveries=2)

    [stored] = await recorded_events(fresh_engine)
    assert stored.event_id == UserCreated.model_validate_json(record.value).event_id
    assert stored.user_id == response.json()["id"]


async def test_users_created_while_the_broker_is_unreachable_are_delivered_once(
    event_settings: Settings, kafka_topic: KafkaTopic, fresh_engine: AsyncEngine
) -> None:
    created = 20
    slowest_response = 0.0
    async with app_client(create_app(with_broker_at(event_settings, UNREACHABLE_BROKER))) as client:
        ids = []
        for n in range(created):
            started = time.monotonic()
            response = await client.post(
                "/users", json={"email": f"u{n}@example.com", "full_name": "U"}
            )
            slowest_response = max(slowest_response, time.monotonic() - started)
            assert response.status_code == 201
            ids.append(response.json()["id"])
    # The request path never waits on the broker (the producer alone would wait 40 s).
    assert slowest_response < 2.0
    assert await pending_outbox_events(fresh_engine) == created

    # The broker is back: two replicas' relays race for the same outbox.
    async with (
        app_client(create_app(event_settings)),
        app_client(create_app(event_settings)),
    ):

        async def outbox_drained() -> bool:
            return await pending_outbox_events(fresh_engine) == 0

        await eventually(outbox_drained, what="the relays to mark every event published")
    # Every event was acknowledged before it was marked: what the topic holds now is final.
    records = await consume(kafka_topic, created, then_none_for=0.5)  # and no duplicates
    published = [UserCreated.model_validate_json(record.value) for record in records]
    assert [event.user_id for event in published] == ids  # in the order they were created

    await worker_consumes(event_settings, kafka_topic, deliveries=created)
    recorded = await recorded_events(fresh_engine)
    assert sorted(event.user_id for event in recorded) == ids
    assert {event.event_id for event in recorded} == {event.event_id for event in published}


async def add_outbox_events(engine: AsyncEngine, published_at: dict[str, datetime | None]) -> None:
    """One outbox row per key, published at the given time (None: pending)."""
    async with AsyncSession(engine) as session, session.begin():
        session.add_all(
            OutboxEvent(
                event_id=uuid.uuid4(),
                event_type=USER_CREATED,
                key=key,
                payload="{}",
                published_at=when,
            )
            for key, when in published_at.items()
        )


async def outbox_keys(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.scalars(select(OutboxEvent.key))).all())


async def test_the_relay_deletes_events_past_their_retention_at_most_once_an_interval(
    event_settings: Settings, kafka_topic: KafkaTopic, fresh_engine: AsyncEngine
) -> None:
    kafka = event_settings.integration(KafkaSettings)
    retention = timedelta(hours=kafka.outbox_retention_hours)
    now = datetime.now(UTC)
    expired, retained = now - retention - timedelta(hours=1), now - retention + timedelta(hours=1)
    relay = OutboxRelay(create_session_factory(fresh_engine), kafka)
    try:
        await add_outbox_events(fresh_engine, {"expired": expired, "retained": retained, "a": None})
        first_batch = await relay.publish_pending()
        after_first = await outbox_keys(fresh_engine)
        # Within the interval, a batch publishes and leaves expired events for the next cleanup.
        await add_outbox_events(fresh_engine, {"expired again": expired, "b": None})
        second_batch = await relay.publish_pending()
        after_second = await outbox_keys(fresh_engine)
    finally:
        await relay.close_producer()

    assert (first_batch, second_batch) == (1, 1)
    assert after_first == {"retained", "a"}
    assert after_second == {"retained", "a", "expired again", "b"}
    assert [record.key for record in await consume(kafka_topic, 2)] == [b"a", b"b"]


async def test_poison_messages_are_dead_lettered_and_the_next_one_is_processed(
    event_settings: Settings,
    kafka_topic: KafkaTopic,
    dead_letter_topic: KafkaTopic,
    fresh_engine: AsyncEngine,
) -> None:
    malformed = b"{not json"
    unknown_user = UserCreated(user_id=999_999, email="ghost@example.com").model_dump_json()
    await produce(kafka_topic, malformed, key=b"1")
    await produce(kafka_topic, unknown_user.encode(), key=b"999999")
    async with app_client(create_app(event_settings)) as client:
        response = await client.post("/users", json=ADA)
        await consume(kafka_topic, 3)

    await worker_consumes(event_settings, kafka_topic, deliveries=3)

    [stored] = await recorded_events(fresh_engine)
    assert stored.user_id == response.json()["id"]
    dead = await consume(dead_letter_topic, 2)
    assert [(record.key, record.value) for record in dead] == [
        (b"1", malformed),
        (b"999999", unknown_user.encode()),
    ]
    malformed_headers, unknown_user_headers = (dict(record.headers) for record in dead)
    assert malformed_headers["error.type"] == b"ValidationError"
    assert malformed_headers["error.attempts"] == b"1"  # no retry can fix a malformed message
    assert unknown_user_headers["error.type"] == b"IntegrityError"
    assert unknown_user_headers["error.attempts"] == b"3"
    assert unknown_user_headers["original.topic"] == kafka_topic.name.encode()
    assert unknown_user_headers["original.offset"] == b"1"


async def test_the_app_starts_without_the_broker_and_readiness_says_so(
    settings: Settings,
) -> None:
    async with app_client(create_app(with_broker_at(settings, UNREACHABLE_BROKER))) as client:
        response = await client.get("/health/ready")

    assert_serving_without(response, "kafka")  # the broker is optional: events wait in the outbox


async def test_the_worker_waits_for_an_unreachable_broker_and_stops_on_request(
    event_settings: Settings,
) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(with_broker_at(event_settings, UNREACHABLE_BROKER), stop)
    )
    await asyncio.sleep(1.0)
    assert not worker.done()  # still retrying, not crashed

    stop.set()
    await asyncio.wait_for(worker, 5)


async def test_the_worker_dead_letters_nothing_while_the_database_is_unreachable(
    event_settings: Settings, kafka_topic: KafkaTopic, dead_letter_topic: KafkaTopic
) -> None:
    kafka = event_settings.integration(KafkaSettings)
    value = UserCreated(user_id=1, email="ada@example.com").model_dump_json().encode()
    record = ConsumerRecord(
        kafka_topic.name, 0, 0, 0, 0, b"1", value, None, 1, len(value), headers=()
    )
    unreachable = DatabaseSettings(url="postgresql://app:Xk39-unused@127.0.0.1:1/app")
    engine = create_engine(event_settings.model_copy(update={"database": unreachable}))
    stop = asyncio.Event()
    worker = EventWorker(kafka, create_session_factory(engine), stop)
    try:
        handling = asyncio.create_task(worker.handle(record))
        await asyncio.sleep(1.0)  # far more tries than worker_max_attempts at this backoff
        assert not handling.done()
        stop.set()
        with pytest.raises(Stopped):
            await handling
    finally:
        await worker.close_dead_letters()
        await engine.dispose()

    await consume(dead_letter_topic, 0, then_none_for=0.5)


def test_event_schema_round_trips() -> None:
    event = UserCreated(
        event_id=uuid.uuid4(), user_id=7, email="a@b.co", occurred_at=datetime.now(UTC)
    )
    assert UserCreated.model_validate_json(event.model_dump_json()) == event
