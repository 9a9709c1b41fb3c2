"""Consume `user.created` and record each event once.

Run: python -m <package>.integrations.kafka.worker

A message that cannot be processed goes to the dead-letter topic with the error in its
headers, and the worker moves on: at once when it is malformed (no retry can fix it), after
`worker_max_attempts` tries with backoff when storing it fails. Offsets are committed only
after a message is stored or dead-lettered, so none is skipped.

The worker stops only when told (SIGTERM or SIGINT: within seconds whatever it is doing, exit
code 0). Any error of the broker, the consumer group or the database is logged once per
outage, waited out with capped backoff and recovered from: a commit the group refused (it
rebalanced) leaves the records to be delivered again and recorded once, a client that failed
is replaced, and while the database is unreachable nothing is dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.config import Settings, get_settings
from {{ cookiecutter.package_name }}.db import (
    create_engine,
    create_session_factory,
    database_unavailable,
)
from {{ cookiecutter.package_name }}.integrations.kafka.inbox import record_user_event
from {{ cookiecutter.package_name }}.integrations.kafka.settings import (
    MAX_BACKOFF_SECONDS,
    KafkaSettings,
    create_producer,
    start_producer,
    stop_quietly,
)
from {{ cookiecutter.package_name }}.logs import configure_logging
from {{ cookiecutter.package_name }}.outages import Outage, backoff_seconds
from {{ cookiecutter.package_name }}.users.events import UserCreated

logger = logging.getLogger(__name__)

type Record = ConsumerRecord[bytes, bytes]
POLL_MILLISECONDS = 500
# After SIGTERM, how long a step that does not watch for the stop (a query to a database
# that stopped answering, say) may take before it is cancelled.
STOP_GRACE_SECONDS = 5.0
COMMIT_TIMEOUT_SECONDS = 3.0


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


class EventWorker:
    def __init__(
        self,
        settings: KafkaSettings,
        session_factory: async_sessionmaker[AsyncSession],
        stop: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.stop = stop
        first_wait = settings.worker_retry_backoff_seconds
        self.broker = Outage(
            logger, "Kafka", first_wait=first_wait, longest_wait=MAX_BACKOFF_SECONDS
        )
        self.database = Outage(
            logger, "the database", first_wait=first_wait, longest_wait=MAX_BACKOFF_SECONDS
        )
        self.dead_letters: AIOKafkaProducer | None = None

    async def run(self) -> None:
        """Consume until stopped; after a broker error, wait and start a new consumer, which
        rejoins the group and resumes from the last committed offsets."""
        try:
            while True:
                try:
                    async with self.consumer() as consumer:
                        await self.consume(consumer)
                except KafkaError as error:
                    await self.pause(self.broker.failed(error))
        except Stopped:
            return
        finally:
            await self.close_dead_letters()

    @asynccontextmanager
    async def consumer(self) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = create_consumer(self.settings)
        logger.info(
            "joining consumer group %s for %s",
            self.settings.worker_group_id,
            self.settings.user_events_topic,
        )
        try:
            await self.until_stopped(consumer.start())  # joins the group: may wait a while
            self.broker.ended()
            yield consumer
        finally:
            await stop_quietly(consumer)

    async def consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await self.until_stopped(consumer.getmany(timeout_ms=POLL_MILLISECONDS))
            handled: dict[TopicPartition, int] = {}
            try:
                for partition, records in batches.items():
                    for record in records:
                        await self.handle(record)
                        handled[partition] = record.offset + 1
            finally:  # on a stop too: what was handled is not handled again
                await self.commit(consumer, handled)

    async def commit(self, consumer: AIOKafkaConsumer, handled: dict[TopicPartition, int]) -> None:
        """Commit the offsets of the partitions still ours, once, in bounded time. A commit
        that fails (the group rebalanced, the broker is away) is not retried: the next one
        covers these offsets too, and what is delivered again meanwhile is recorded once."""
        offsets = {tp: handled[tp] for tp in consumer.assignment() if tp in handled}
        if not offsets:
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), COMMIT_TIMEOUT_SECONDS)
        except CommitFailedError:
            logger.warning(
                "the consumer group rebalanced before the commit; the uncommitted records "
                "will be delivered again (and recorded once)"
            )
        except (KafkaError, TimeoutError) as error:
            self.broker.failed(error)
        else:
            self.broker.ended()

    async def handle(self, record: Record) -> None:
        """Store the record's event, or dead-letter the record; raises `Stopped` only."""
        try:
            event = UserCreated.model_validate_json(record.value or b"")
        except ValidationError as error:
            await self.dead_letter(record, error, attempts=1)
            return
        attempt = 1
        while True:
            try:
                async with self.session_factory() as session, session.begin():
                    stored = await record_user_event(session=session, event=event)
            except Exception as error:
                if database_unavailable(error):  # says nothing about the message: wait
                    await self.pause(self.database.failed(error))
                    continue
                if attempt >= self.settings.worker_max_attempts:
                    await self.dead_letter(record, error, attempts=attempt)
                    return
                logger.warning("event %s failed (attempt %d): %s", event.event_id, attempt, error)
                await self.pause(
                    backoff_seconds(
                        self.settings.worker_retry_backoff_seconds, attempt, MAX_BACKOFF_SECONDS
                    )
                )
                attempt += 1
            else:
                self.database.ended()
                logger.info(
                    "event %s %s", event.event_id, "stored" if stored else "already recorded"
                )
                return

    async def dead_letter(self, record: Record, error: Exception, *, attempts: int) -> None:
        """Send the record to the dead-letter topic, retrying (with a new producer) until the
        broker takes it: the record is committed only once it is there."""
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
        while True:
            try:
                producer = await self.dead_letter_producer()
                sent = producer.send_and_wait(
                    self.settings.dead_letter_topic,
                    key=record.key,
                    value=record.value,
                    headers=headers,
                )
                # Bounded here too: a send can wait on metadata longer than a request lasts.
                bounded = asyncio.wait_for(sent, self.settings.send_timeout_seconds)
                await self.until_stopped(bounded)
            except (KafkaError, TimeoutError) as failure:
                await self.close_dead_letters()
                await self.pause(self.broker.failed(failure))
            else:
                self.broker.ended()
                return

    async def dead_letter_producer(self) -> AIOKafkaProducer:
        if self.dead_letters is None:
            producer = create_producer(self.settings)
            try:
                await self.until_stopped(start_producer(producer, self.settings))
            except BaseException:
                await stop_quietly(producer)
                raise
            self.dead_letters = producer
        return self.dead_letters

    async def close_dead_letters(self) -> None:
        if self.dead_letters is not None:
            producer, self.dead_letters = self.dead_letters, None
            await stop_quietly(producer)

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`; raise `Stopped` as soon as the worker is asked to stop."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        if self.stop.is_set():
            raise Stopped

    async def until_stopped[T](self, step: Awaitable[T]) -> T:
        """`step`'s result; `Stopped` as soon as the worker is asked to stop (the step is
        cancelled if it has not finished)."""
        doing = asyncio.ensure_future(step)
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({doing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if self.stop.is_set():
            doing.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await doing
            raise Stopped
        return doing.result()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Consume until `stop` is set."""
    engine = create_engine(settings)
    try:
        worker = EventWorker(
            settings.integration(KafkaSettings), create_session_factory(engine), stop
        )
        await worker.run()
    finally:
        await engine.dispose()


async def serve(settings: Settings) -> None:
    """Run the worker until SIGTERM or SIGINT; a step that does not end within
    STOP_GRACE_SECONDS of the signal is cancelled."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    working = asyncio.create_task(run_worker(settings, stop))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not working.done():
        logger.info("stopping")
        done, _ = await asyncio.wait({working}, timeout=STOP_GRACE_SECONDS)
        if not done:
            working.cancel()
            with suppress(asyncio.CancelledError):
                await working
    if not working.cancelled():
        working.result()  # a bug the loop did not catch ends the process, with its traceback


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
