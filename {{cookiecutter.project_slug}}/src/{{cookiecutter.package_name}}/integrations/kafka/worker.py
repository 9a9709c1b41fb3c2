"""Consume `user.created` and record each event once.

Run: python -m <package>.integrations.kafka.worker

A message that cannot be processed goes to the dead-letter topic with the error in its
headers, and the worker moves on: at once when it is malformed (no retry can fix it), after
`worker_max_attempts` tries with backoff when storing it fails. While the database is
unreachable nothing is dead-lettered: the worker retries until it is back. Offsets are
committed only after a message is stored or dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from functools import partial

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.config import Settings, get_settings
from {{ cookiecutter.package_name }}.db import create_engine, create_session_factory
from {{ cookiecutter.package_name }}.integrations.kafka.inbox import record_user_event
from {{ cookiecutter.package_name }}.integrations.kafka.settings import (
    MAX_BACKOFF_SECONDS,
    KafkaSettings,
    create_producer,
)
from {{ cookiecutter.package_name }}.logs import configure_logging
from {{ cookiecutter.package_name }}.users.events import UserCreated

logger = logging.getLogger(__name__)

type Record = ConsumerRecord[bytes, bytes]
# The database being unreachable says nothing about the message: wait, never dead-letter.
UNAVAILABLE_DATABASE = (OperationalError, InterfaceError)


def create_consumer(settings: KafkaSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        settings.user_events_topic,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.worker_group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )


class Stopped(Exception):
    """The worker was asked to stop while waiting."""


async def wait_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds` (at most MAX_BACKOFF_SECONDS); raise `Stopped` as soon as `stop` is set."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), min(seconds, MAX_BACKOFF_SECONDS))
    if stop.is_set():
        raise Stopped


class EventWorker:
    def __init__(
        self,
        settings: KafkaSettings,
        session_factory: async_sessionmaker[AsyncSession],
        dead_letters: AIOKafkaProducer,
        stop: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.dead_letters = dead_letters
        self.stop = stop

    async def handle(self, record: Record) -> None:
        """Store the record's event, or dead-letter the record; raises `Stopped` only."""
        try:
            event = UserCreated.model_validate_json(record.value or b"")
        except ValidationError as error:
            await self.dead_letter(record, error, attempts=1)
            return
        attempt = outage_waits = 1
        while True:
            try:
                async with self.session_factory() as session, session.begin():
                    stored = await record_user_event(session=session, event=event)
            except UNAVAILABLE_DATABASE as error:
                logger.warning("database unavailable, retrying: %s", type(error).__name__)
                await self.pause(self.settings.worker_retry_backoff_seconds * 2**outage_waits)
                outage_waits += 1
            except Exception as error:  # whatever storing it raised: retried, then dead-lettered
                if attempt >= self.settings.worker_max_attempts:
                    await self.dead_letter(record, error, attempts=attempt)
                    return
                logger.warning("event %s failed (attempt %d): %s", event.event_id, attempt, error)
                await self.pause(self.settings.worker_retry_backoff_seconds * 2 ** (attempt - 1))
                attempt += 1
            else:
                logger.info(
                    "event %s %s", event.event_id, "stored" if stored else "already recorded"
                )
                return

    async def dead_letter(self, record: Record, error: Exception, *, attempts: int) -> None:
        logger.error(
            "dead-lettering %s[%d]@%d after %d attempt(s): %s: %s",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            type(error).__name__,
            error,
        )
        headers = [
            *record.headers,
            ("error.type", type(error).__name__.encode()),
            ("error.message", str(error)[:2000].encode()),
            ("error.attempts", str(attempts).encode()),
            ("original.topic", record.topic.encode()),
            ("original.partition", str(record.partition).encode()),
            ("original.offset", str(record.offset).encode()),
        ]
        await self.dead_letters.send_and_wait(
            self.settings.dead_letter_topic, key=record.key, value=record.value, headers=headers
        )

    async def pause(self, seconds: float) -> None:
        await wait_unless_stopped(self.stop, seconds)


async def started[T: (AIOKafkaConsumer, AIOKafkaProducer)](
    create: Callable[[], T], stop: asyncio.Event, opened: AsyncExitStack
) -> T:
    """A started Kafka client, retrying with backoff while the broker is unreachable; raises
    `Stopped` if `stop` is set first."""
    delay = 0.5
    while True:
        client = create()
        try:
            await client.start()
        except KafkaError as error:
            await client.stop()
            logger.warning("broker unreachable, retrying in %gs: %s", delay, error)
            await wait_unless_stopped(stop, delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        else:
            opened.push_async_callback(client.stop)
            return client


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Consume until `stop` is set."""
    kafka = settings.integration(KafkaSettings)
    async with AsyncExitStack() as opened:
        engine = create_engine(settings.database)
        opened.push_async_callback(engine.dispose)
        try:
            dead_letters = await started(partial(create_producer, kafka), stop, opened)
            consumer = await started(partial(create_consumer, kafka), stop, opened)
        except Stopped:
            return
        worker = EventWorker(kafka, create_session_factory(engine), dead_letters, stop)
        await consume(consumer, worker.handle, stop)


async def consume(
    consumer: AIOKafkaConsumer, handle: Callable[[Record], Awaitable[None]], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=500)
        done: dict[TopicPartition, int] = {}
        try:
            for partition, records in batches.items():
                for record in records:
                    await handle(record)
                    done[partition] = record.offset + 1
        except Stopped:
            return
        finally:
            if done:
                await consumer.commit(done)


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    await run_worker(settings, stop)


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
