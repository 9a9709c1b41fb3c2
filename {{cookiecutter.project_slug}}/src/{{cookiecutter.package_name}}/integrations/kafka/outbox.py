"""The transactional outbox: each event is a row written in the transaction of the change it
describes, and a relay publishes the rows to Kafka after the commit, so an event is never lost
and a request never waits on the broker.

Delivery is at least once (a relay stopped after publishing but before marking publishes
again); the worker's dedupe by event id makes processing once.

The relay runs in every app replica's lifespan: the app writes the events, so it wakes its
relay at each commit (an event leaves within milliseconds) and the relay is deployed wherever
events are written, while a worker may be scaled to zero. Each batch runs under a PostgreSQL
advisory lock held for its transaction: one relay publishes at a time whatever the number of
replicas, in id order, so events of a key keep their order; a replica that dies releases the
lock with its connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import NamedTuple

from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    String,
    Text,
    Uuid,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.event import listen
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, mapped_column

from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.events import DomainEvent
from {{ cookiecutter.package_name }}.integrations.kafka.settings import (
    MAX_BACKOFF_SECONDS,
    KafkaSettings,
    create_producer,
    start_producer,
    stop_quietly,
)
from {{ cookiecutter.package_name }}.outages import Outage

logger = logging.getLogger(__name__)

RELAY_LOCK = zlib.crc32(b"outbox_events")  # the advisory lock id only relays take
# Published events past their retention are deleted at most this often, not with every batch:
# under a light load each commit is a batch of its own, and the DELETE was an eighth of its CPU.
RETENTION_CLEANUP_INTERVAL_SECONDS = 60


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


# The sink and the relay write and read through the table (plain Core), not the class: an
# ORM-enabled statement pays for the unit of work or for objects nothing changes.
OUTBOX = Base.metadata.tables[OutboxEvent.__tablename__]
OUTBOX_INSERT = insert(OUTBOX)


class PendingEvent(NamedTuple):
    id: int
    event_type: str
    key: str
    payload: str


class OutboxEventSink:
    """`events.EventSink` writing to the outbox, waking the relay when the transaction commits."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    async def add(self, session: AsyncSession, event: DomainEvent, *, key: str) -> None:
        # Written now, by OUTBOX_INSERT: an OutboxEvent flushed by the unit of work cost about
        # 0.25 ms more CPU a row, and POST /users served about a tenth fewer requests/s.
        row = {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "key": key,
            "payload": event.model_dump_json(),
        }
        await session.execute(OUTBOX_INSERT, row)
        listen(session.sync_session, "after_commit", self.wake_relay, once=True)

    def wake_relay(self, session: Session) -> None:
        self.relay.wake.set()


class OutboxRelay:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], settings: KafkaSettings
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.wake = asyncio.Event()
        self.stopping = False
        self.stopped = asyncio.Event()
        self.producer: AIOKafkaProducer | None = None
        self.connecting = asyncio.Lock()
        self.next_retention_cleanup = 0.0  # time.monotonic(): the first batch cleans up

    async def connected_producer(self) -> AIOKafkaProducer:
        """The producer, started on first use: the app starts whether the broker is up or not."""
        async with self.connecting:
            if self.producer is None:
                producer = create_producer(self.settings)
                try:
                    await start_producer(producer, self.settings)
                except BaseException:
                    await stop_quietly(producer)
                    raise
                self.producer = producer
            return self.producer

    async def publish_pending(self) -> int:
        """Publish one batch of pending events in id order; how many were published."""
        async with self.session_factory() as session, session.begin():
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK))):
                return 0  # another replica's relay is publishing
            rows = await session.execute(
                select(*(OUTBOX.c[column] for column in PendingEvent._fields))
                .where(OUTBOX.c.published_at.is_(None))
                .order_by(OUTBOX.c.id)
                .limit(self.settings.outbox_batch_size)
            )
            pending = [PendingEvent(*row) for row in rows]
            if not pending:
                return 0
            published, failure = await self.send(pending)
            if published:
                await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_([row.id for row in pending[:published]]))
                    .values(published_at=func.now())
                )
                now = time.monotonic()
                if now >= self.next_retention_cleanup:
                    self.next_retention_cleanup = now + RETENTION_CLEANUP_INTERVAL_SECONDS
                    retention = timedelta(hours=self.settings.outbox_retention_hours)
                    await session.execute(
                        delete(OUTBOX).where(OUTBOX.c.published_at < func.now() - retention)
                    )
        if failure is not None:
            raise failure
        return published

    async def send(self, rows: Sequence[PendingEvent]) -> tuple[int, Exception | None]:
        """Send the rows; how many of them, from the first, the broker acknowledged, and the
        first failure. Only that prefix is marked: rows after a failure are sent again, so a
        key's events never leave out of order."""
        producer = await self.connected_producer()
        acknowledgements = []
        failure: Exception | None = None
        for row in rows:
            try:
                acknowledgements.append(
                    await producer.send(
                        self.settings.topic_for(row.event_type),
                        key=row.key.encode(),
                        value=row.payload.encode(),
                    )
                )
            except Exception as error:
                failure = error
                break
        # Bounded: an acknowledgement can wait on metadata longer than a request lasts.
        results = await asyncio.wait_for(
            asyncio.gather(*acknowledgements, return_exceptions=True),
            self.settings.send_timeout_seconds,
        )
        for published, result in enumerate(results):
            if isinstance(result, Exception):
                return published, result
        return len(results), failure

    async def run(self) -> None:
        """Publish until stopped. While the broker or the database is down, retry with capped
        backoff (a commit does not wake the relay then) with a new producer each time: the
        events wait in the outbox."""
        outage = Outage(
            logger,
            "the outbox relay's broker or database (events wait in the outbox)",
            first_wait=self.settings.outbox_poll_interval_seconds,
            longest_wait=MAX_BACKOFF_SECONDS,
        )
        retry_in: float | None = None
        while not self.stopping:
            # First wait: most of an app's life nothing is pending, and a test's app lives
            # shorter than one poll interval.
            if retry_in is None:
                await self.sleep(self.settings.outbox_poll_interval_seconds, woken_by_commits=True)
            else:
                await self.sleep(retry_in, woken_by_commits=False)
            if self.stopping:
                return
            try:
                while (
                    not self.stopping
                    and await self.publish_pending() == self.settings.outbox_batch_size
                ):
                    pass
            except Exception as error:  # the relay outlives any outage
                retry_in = outage.failed(error)
                await self.close_producer()
            else:
                retry_in = None
                outage.ended()

    async def sleep(self, seconds: float, *, woken_by_commits: bool) -> None:
        """Wait `seconds`, less if the relay is stopped (or, `woken_by_commits`, woken)."""
        event = self.wake if woken_by_commits else self.stopped
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        self.wake.clear()

    async def close_producer(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            await stop_quietly(producer)

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Let the batch under way finish (bounded), then close the producer."""
        self.stopping = True
        self.stopped.set()
        self.wake.set()
        try:
            await asyncio.wait_for(task, self.settings.outbox_stop_timeout_seconds)
        except TimeoutError:
            pass  # cancelled by wait_for; its batch is rolled back and published again later
        finally:
            await self.close_producer()
