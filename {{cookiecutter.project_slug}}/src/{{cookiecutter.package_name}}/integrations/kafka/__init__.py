"""Kafka: publishes the domain events (`events.EventSink`); worker.py consumes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.config import PACKAGE, IntegrationSettings, Settings, env_settings
from {{ cookiecutter.package_name }}.events import DomainEvent
from {{ cookiecutter.package_name }}.health import ReadinessCheck
from {{ cookiecutter.package_name }}.integrations.kafka.inbox import UserEvent
from {{ cookiecutter.package_name }}.users.events import USER_CREATED

__all__ = ["INTEGRATION", "KafkaEventSink", "KafkaSettings", "UserEvent"]


class KafkaSettings(IntegrationSettings):
    model_config = env_settings("KAFKA_")

    bootstrap_servers: str = "localhost:9092"
    user_events_topic: str = "user.created"
    worker_group_id: str = f"{PACKAGE}-worker"
    # Real brokers de-duplicate producer retries; turn off only for a broker without it.
    enable_idempotence: bool = True

    def topic_for(self, event_type: str) -> str:
        topics = {USER_CREATED: self.user_events_topic}
        return topics[event_type]


def create_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
    )


class KafkaEventSink:
    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
        self.producer = producer
        self.settings = settings

    async def publish(self, event: DomainEvent, *, key: str) -> None:
        await self.producer.send_and_wait(
            self.settings.topic_for(event.event_type),
            key=key.encode(),
            value=event.model_dump_json().encode(),
        )


class KafkaIntegration:
    name = "kafka"
    routers: tuple[APIRouter, ...] = ()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: Settings) -> AsyncIterator[ReadinessCheck]:
        config = settings.integration(KafkaSettings)
        producer = create_producer(config)
        await producer.start()
        app.state.event_sink = KafkaEventSink(producer, config)

        async def fetch_metadata() -> None:
            await producer.client.fetch_all_metadata()

        try:
            yield fetch_metadata
        finally:
            await producer.stop()


INTEGRATION = KafkaIntegration()
