"""Kafka producer lifecycle and the publisher the routers use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from {{ cookiecutter.package_name }}.config import KafkaSettings
from {{ cookiecutter.package_name }}.users.events import UserCreated


def create_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
    )


async def ping_kafka(producer: AIOKafkaProducer) -> None:
    await producer.client.fetch_all_metadata()


class EventPublisher:
    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
        self.producer = producer
        self.settings = settings

    async def publish_user_created(self, *, user_id: int, email: str) -> UserCreated:
        event = UserCreated(
            event_id=uuid.uuid4(), user_id=user_id, email=email, occurred_at=datetime.now(UTC)
        )
        await self.producer.send_and_wait(
            self.settings.user_events_topic,
            key=str(user_id).encode(),
            value=event.model_dump_json().encode(),
        )
        return event


def get_event_publisher(request: Request) -> EventPublisher:
    publisher: EventPublisher = request.app.state.event_publisher
    return publisher


EventPublisherDep = Annotated[EventPublisher, Depends(get_event_publisher)]
