"""Domain events and the sink routers publish them to. A message broker integration installs
a real sink; without one, events are dropped (nothing is subscribed to them)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)


class DomainEvent(BaseModel):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class EventSink(Protocol):
    async def publish(self, event: DomainEvent, *, key: str) -> None:
        """Publish `event`; events with the same `key` keep their order."""


class DroppingEventSink:
    async def publish(self, event: DomainEvent, *, key: str) -> None:
        logger.debug("no broker installed: dropping %s %s", event.event_type, event.event_id)


DROPPING_EVENT_SINK = DroppingEventSink()


def get_event_sink(request: Request) -> EventSink:
    sink: EventSink = getattr(request.app.state, "event_sink", DROPPING_EVENT_SINK)
    return sink


EventSinkDep = Annotated[EventSink, Depends(get_event_sink)]
