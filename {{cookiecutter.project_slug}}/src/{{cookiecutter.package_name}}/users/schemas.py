from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator

from {{ cookiecutter.package_name }}.users.models import MAX_USER_ID

MAX_PAGE_SIZE = 100
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"

Email = Annotated[EmailStr, AfterValidator(str.lower)]
# PostgreSQL text cannot hold NUL: refused as invalid input, not a failure to store.
FullName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email
    full_name: FullName


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email | None = None  # None: left as it is; null in the request is refused
    full_name: FullName | None = None

    @field_validator("email", "full_name", mode="before")
    @classmethod
    def refuse_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, not set to null")
        return value


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserPublic]
    # Where the next page starts (pass it as `after`); null on the last page.
    next_cursor: str | None


def cursor_after(user_id: int) -> str:
    """Opaque to clients, so the order behind it can change without breaking them."""
    return base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The id a cursor from `cursor_after` holds; None for anything else."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not decoded.isdigit() or not 1 <= int(decoded) <= MAX_USER_ID:
        return None
    return int(decoded)
