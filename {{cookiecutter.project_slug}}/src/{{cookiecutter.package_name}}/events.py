"""Domain events and the publishers they go to. Routes add each event to the request's
transaction (`EventSinkDep`); every publisher an integration registered gets every event
(a broker integration writes it to an outbox table in that transaction, for a relay to
publish after the commit). Publishers compose: any number may register, in any order, and
none replaces another; with none, events are dropped (nothing is subscribed to them).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)


class DomainEvent(BaseModel):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class EventSink(Protocol):
    async def add(self, session: AsyncSession, event: DomainEvent, *, key: str) -> None:
        """Add `event` to `session`'s transaction: it is published if and only if the
        transaction commits, and events with the same `key` are published in the order added.
        Add it after the change it describes, so that the row locks of that change order
        concurrent events of one key."""
        ...


class EventPublishers:
    """`EventSink` handing each event to every registered publisher, in registration order."""

    def __init__(self) -> None:
        self.publishers: dict[str, EventSink] = {}

    def register(self, name: str, publisher: EventSink) -> None:
        if name in self.publishers:
            raise ValueError(f"an event publisher named {name!r} is registered already")
        self.publishers[name] = publisher

    async def add(self, session: AsyncSession, event: DomainEvent, *, key: str) -> None:
        if not self.publishers:
            logger.debug("no event publisher: dropping %s %s", event.event_type, event.event_id)
        for publisher in self.publishers.values():
            await publisher.add(session, event, key=key)

    def describe(self) -> str:
        return ", ".join(self.publishers) or "none (domain events are dropped)"


def event_publishers(app: FastAPI) -> EventPublishers:
    """The app's publishers, for an integration to register its own in its lifespan."""
    publishers: EventPublishers = app.state.event_publishers
    return publishers


async def get_event_sink(request: Request) -> EventSink:
    return event_publishers(request.app)


EventSinkDep = Annotated[EventSink, Depends(get_event_sink)]
