"""The worker's record of the `user.created` events it processed, each stored once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Uuid, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db import Base
from {{ cookiecutter.package_name }}.users.events import UserCreated


class UserEvent(Base):
    __tablename__ = "user_events"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


async def record_user_event(*, session: AsyncSession, event: UserCreated) -> bool:
    """Store the event once; a redelivery of the same event id is ignored. True if stored."""
    statement = (
        insert(UserEvent)
        .values(
            event_id=event.event_id,
            event_type=event.event_type,
            user_id=event.user_id,
            occurred_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[UserEvent.event_id])
        .returning(UserEvent.event_id)
    )
    return (await session.scalar(statement)) is not None
