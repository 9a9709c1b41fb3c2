"""Kafka's settings and producer, shared by the app's outbox relay and the worker."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import BrokerResponseError, KafkaError
from pydantic import Field

from {{ cookiecutter.package_name }}.config import (
    PACKAGE,
    IntegrationSettings,
    env_settings,
)
from {{ cookiecutter.package_name }}.users.events import USER_CREATED

# The longest wait between retries while the broker or the database is unreachable.
MAX_BACKOFF_SECONDS = 30.0
# How long closing a client may take (a producer flushes, a consumer leaves its group).
CLOSE_TIMEOUT_SECONDS = 3.0


class KafkaSettings(IntegrationSettings):
    model_config = env_settings("KAFKA_")

    bootstrap_servers: str = "localhost:9092"
    user_events_topic: str = "user.created"
    # Where the worker puts a message it cannot process, with the error in its headers.
    dead_letter_topic: str = "user.created.dead-letters"
    worker_group_id: str = f"{PACKAGE}-worker"
    worker_max_attempts: int = Field(default=3, ge=1)
    worker_retry_backoff_seconds: float = Field(default=0.5, ge=0)
    # Real brokers de-duplicate producer retries; turn off only for a broker without it.
    enable_idempotence: bool = True
    # How long a publish waits for the broker's acknowledgement before it fails (and is
    # retried): aiokafka's request timeout.
    send_timeout_seconds: float = Field(default=40, gt=0)
    outbox_poll_interval_seconds: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1)
    outbox_retention_hours: float = Field(default=24, ge=0)
    outbox_stop_timeout_seconds: float = Field(default=5, ge=0)

    def topic_for(self, event_type: str) -> str:
        topics = {USER_CREATED: self.user_events_topic}
        return topics[event_type]


def create_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        request_timeout_ms=int(settings.send_timeout_seconds * 1000),
    )


class IdempotenceRefusedError(KafkaError):  # type: ignore[misc]  # aiokafka has no types
    """The broker answered, but granted no producer id: it refuses idempotent producers."""


async def start_producer(producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
    """Start `producer`; a broker that answers but refuses idempotence is named as such (it
    is not down, and no retry will change it)."""
    try:
        await producer.start()
    except BrokerResponseError as error:
        if not settings.enable_idempotence:
            raise
        raise IdempotenceRefusedError(
            f"the broker answered {type(error).__name__} to InitProducerId: it refuses "
            "idempotent producers; set KAFKA_ENABLE_IDEMPOTENCE=false for this broker (or "
            "grant the IdempotentWrite permission)"
        ) from error


async def stop_quietly(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    """Close a client that may be broken or waiting on an unreachable broker, in bounded time."""
    with suppress(Exception):
        await asyncio.wait_for(client.stop(), CLOSE_TIMEOUT_SECONDS)
