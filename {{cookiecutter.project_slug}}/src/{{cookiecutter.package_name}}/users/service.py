"""User use cases on an `AsyncSession`; callers decide when to commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.users.models import EMAIL_UNIQUE_CONSTRAINT, User
from {{ cookiecutter.package_name }}.users.schemas import UserCreate, UserUpdate


class EmailAlreadyRegisteredError(Exception):
    def __init__(self, email: str) -> None:
        super().__init__(f"a user with email {email!r} already exists")
        self.email = email


def _violated_constraint(error: IntegrityError) -> str | None:
    diagnostics = getattr(error.orig, "diag", None)
    return getattr(diagnostics, "constraint_name", None)


async def create_user(*, session: AsyncSession, data: UserCreate) -> User:
    # One statement: a taken email inserts nothing rather than failing, so the caller's
    # transaction stays usable without a savepoint (two round trips more per create). The
    # unique constraint still decides: a concurrent insert of the email waits for the other
    # transaction and inserts nothing if it commits.
    created: User | None = await session.scalar(
        insert(User)
        .values(email=data.email, full_name=data.full_name)
        .on_conflict_do_nothing(constraint=EMAIL_UNIQUE_CONSTRAINT)
        .returning(User)
    )
    if created is None:
        raise EmailAlreadyRegisteredError(data.email)
    return created


async def get_user(*, session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_users(
    *, session: AsyncSession, limit: int, after_id: int | None = None
) -> Sequence[User]:
    """Users in id order, from the one after `after_id` (keyset paging: each page is one
    index range scan, and rows added or removed before it shift nothing)."""
    query = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        query = query.where(User.id > after_id)
    return (await session.scalars(query)).all()


async def update_user(*, session: AsyncSession, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    # The unique constraint decides, not a SELECT beforehand: two concurrent requests would
    # both pass a pre-check. The changes are made inside a savepoint (begin_nested flushes
    # what is pending before it opens one), so a conflict rolls back only them and the
    # caller's transaction stays usable.
    try:
        async with session.begin_nested():
            for field, value in changes.items():
                setattr(user, field, value)
            if changes:
                user.version = User.version + 1  # in SQL, under the row's lock
    except IntegrityError as error:
        if _violated_constraint(error) == EMAIL_UNIQUE_CONSTRAINT:
            raise EmailAlreadyRegisteredError(changes["email"]) from error
        raise
    await session.refresh(user)
    return user
