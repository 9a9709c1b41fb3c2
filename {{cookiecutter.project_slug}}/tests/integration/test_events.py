import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Settings
from {{ cookiecutter.package_name }}.integrations.kafka import KafkaSettings, UserEvent
from {{ cookiecutter.package_name }}.integrations.kafka.worker import run_worker
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.users.events import UserCreated
from tests.support.app import app_client
from tests.support.services.kafka import (
    KafkaTopic,
    committed_offset,
    consume,
    eventually,
    produce,
)

pytestmark = pytest.mark.integration

ADA = {"email": "ada@example.com", "full_name": "Ada"}


@pytest.fixture
def event_settings(settings: Settings, fresh_database: str, kafka_topic: KafkaTopic) -> Settings:
    """The app and the worker commit for real here, so they share a fresh database."""
    kafka = settings.integration(KafkaSettings).model_copy(
        update={
            "user_events_topic": kafka_topic.name,
            "worker_group_id": kafka_topic.group_id,
        }
    )
    fresh = settings.model_copy(update={"database": DatabaseSettings(url=fresh_database)})
    return fresh.with_integration(kafka)


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


async def test_created_user_is_published_keyed_by_user_id(
    event_settings: Settings, kafka_topic: KafkaTopic
) -> None:
    async with app_client(create_app(event_settings)) as client:
        response = await client.post("/users", json=ADA)
    user_id = response.json()["id"]

    [record] = await consume(kafka_topic, 1)

    event = UserCreated.model_validate_json(record.value)
    assert record.key == str(user_id).encode()
    assert (event.event_type, event.user_id, event.email) == ("user.created", user_id, ADA["email"])


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


async def test_worker_skips_a_malformed_message(
    event_settings: Settings, kafka_topic: KafkaTopic, fresh_engine: AsyncEngine
) -> None:
    await produce(kafka_topic, b"{not json", key=b"1")
    async with app_client(create_app(event_settings)) as client:
        await client.post("/users", json=ADA)

    await worker_consumes(event_settings, kafka_topic, deliveries=2)

    assert len(await recorded_events(fresh_engine)) == 1


def test_event_schema_round_trips() -> None:
    event = UserCreated(
        event_id=uuid.uuid4(), user_id=7, email="a@b.co", occurred_at=datetime.now(UTC)
    )
    assert UserCreated.model_validate_json(event.model_dump_json()) == event
