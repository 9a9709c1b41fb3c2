"""Domain events and the sink routers add them to. A message broker integration installs a
real sink (writing each event to an outbox table in the request's transaction, for a relay
to publish after the commit); without one, events are dropped (nothing is subscribed to
them)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)


class DomainEvent(BaseModel):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class EventSink(Protocol):
    def add(self, session: AsyncSession, event: DomainEvent, *, key: str) -> None:
        """Add `event` to `session`'s transaction: it is published if and only if the
        transaction commits, and events with the same `key` are published in the order added.
        Add it after the change it describes, so that the row locks of that change order
        concurrent events of one key."""
        ...


class DroppingEventSink:
    def add(self, session: AsyncSession, event: DomainEvent, *, key: str) -> None:
        logger.debug("no broker installed: dropping %s %s", event.event_type, event.event_id)


DROPPING_EVENT_SINK = DroppingEventSink()


def get_event_sink(request: Request) -> EventSink:
    sink: EventSink = getattr(request.app.state, "event_sink", DROPPING_EVENT_SINK)
    return sink


EventSinkDep = Annotated[EventSink, Depends(get_event_sink)]
