"""The events of the users domain."""

from __future__ import annotations

from typing import Final, Literal

from {{ cookiecutter.package_name }}.events import DomainEvent

USER_CREATED: Final = "user.created"


class UserCreated(DomainEvent):
    event_type: Literal["user.created"] = USER_CREATED
    user_id: int
    email: str
