"""Kafka: domain events leave through the outbox (outbox.py) and its relay, which runs in the
app; worker.py consumes them.

The broker is optional at runtime: the app starts without it, readiness reports it, and events
wait in the outbox until the relay can publish them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.events import event_publishers
from {{ cookiecutter.package_name }}.health import ReadinessCheck
from {{ cookiecutter.package_name }}.integrations.kafka.inbox import UserEvent
from {{ cookiecutter.package_name }}.integrations.kafka.outbox import (
    OutboxEvent,
    OutboxEventSink,
    OutboxRelay,
)
from {{ cookiecutter.package_name }}.integrations.kafka.settings import (
    KafkaSettings,
    create_producer,
)

__all__ = [
    "INTEGRATION",
    "KafkaSettings",
    "OutboxEvent",
    "UserEvent",
    "create_producer",
]


class KafkaIntegration:
    name = "kafka"
    required = False  # events wait in the outbox
    routers: tuple[APIRouter, ...] = ()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: Settings) -> AsyncIterator[ReadinessCheck]:
        relay = OutboxRelay(app.state.session_factory, settings.integration(KafkaSettings))
        event_publishers(app).register(self.name, OutboxEventSink(relay))
        relaying = asyncio.create_task(relay.run(), name="outbox relay")

        async def broker_reachable() -> None:
            producer = await relay.connected_producer()
            await producer.client.fetch_all_metadata()

        try:
            yield broker_reachable
        finally:
            await relay.stop(relaying)


INTEGRATION = KafkaIntegration()
