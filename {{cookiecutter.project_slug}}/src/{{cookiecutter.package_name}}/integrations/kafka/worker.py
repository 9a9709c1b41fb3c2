"""Consume `user.created` and record each event once.

Run: python -m <package>.integrations.kafka.worker
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.config import Settings, get_settings
from {{ cookiecutter.package_name }}.db import create_engine, create_session_factory
from {{ cookiecutter.package_name }}.integrations.kafka import KafkaSettings
from {{ cookiecutter.package_name }}.integrations.kafka.inbox import record_user_event
from {{ cookiecutter.package_name }}.users.events import UserCreated

logger = logging.getLogger(__name__)


def create_consumer(settings: KafkaSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        settings.user_events_topic,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.worker_group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )


async def handle_message(session_factory: async_sessionmaker[AsyncSession], value: bytes) -> bool:
    """Record one message; True if it was new. A malformed message is logged and skipped."""
    try:
        event = UserCreated.model_validate_json(value)
    except ValidationError:
        logger.warning("skipping a malformed user.created message: %r", value[:200])
        return False
    async with session_factory() as session, session.begin():
        stored = await record_user_event(session=session, event=event)
    logger.info("event %s %s", event.event_id, "stored" if stored else "already recorded")
    return stored


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Consume until `stop` is set. Offsets are committed only after the events are stored."""
    engine = create_engine(settings.database)
    session_factory = create_session_factory(engine)
    consumer = create_consumer(settings.integration(KafkaSettings))
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await handle_message(session_factory, record.value)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await engine.dispose()


async def serve() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    await run_worker(get_settings(), stop)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve())


if __name__ == "__main__":
    main()
