from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from {{ cookiecutter.package_name }}.cache import CacheDep
from {{ cookiecutter.package_name }}.db import SessionDep
from {{ cookiecutter.package_name }}.events import EventSinkDep
from {{ cookiecutter.package_name }}.problems import (
    FieldError,
    ProblemError,
    problem_responses,
)
from {{ cookiecutter.package_name }}.users import service
from {{ cookiecutter.package_name }}.users.events import UserCreated
from {{ cookiecutter.package_name }}.users.models import MAX_USER_ID, User
from {{ cookiecutter.package_name }}.users.schemas import (
    CURSOR_PATTERN,
    MAX_PAGE_SIZE,
    UserCreate,
    UserPage,
    UserPublic,
    UserUpdate,
    cursor_after,
    decode_cursor,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/users", tags=["users"])


def decimal_digits(value: object) -> object:
    """Ids in paths are written one way: `+1`, ` 1`, `1_0` and `01` are not user 1."""
    if isinstance(value, str) and not re.fullmatch(r"[1-9][0-9]{0,9}", value):
        raise ValueError("must be a decimal integer without sign, spaces or leading zeros")
    return value


# Bounded by what the database holds: anything else is a 422, never a query that overflows.
UserId = Annotated[
    int,
    Path(ge=1, le=MAX_USER_ID, description="Decimal digits, without sign or leading zeros."),
    BeforeValidator(decimal_digits),
]


class UserNotFound(ProblemError):
    status = status.HTTP_404_NOT_FOUND
    kind = "user-not-found"
    title = "No such user"


class EmailTaken(ProblemError):
    status = status.HTTP_409_CONFLICT
    kind = "email-taken"
    title = "Email already registered"


def user_cache_key(user_id: int) -> str:
    return f"users:{user_id}"


def email_taken(error: service.EmailAlreadyRegisteredError) -> EmailTaken:
    field = FieldError(location="body", field="email", message="already registered")
    return EmailTaken(str(error), errors=[field])


async def valid_user_id(user_id: UserId, session: SessionDep) -> User:
    user = await service.get_user(session=session, user_id=user_id)
    if user is None:
        raise UserNotFound(f"no user has id {user_id}")
    return user


ValidUserDep = Annotated[User, Depends(valid_user_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problem_responses(400, 409, 413, 422, 503),
)
async def create_user(
    data: UserCreate,
    session: SessionDep,
    events: EventSinkDep,
) -> User:
    try:
        user = await service.create_user(session=session, data=data)
    except service.EmailAlreadyRegisteredError as error:
        raise email_taken(error) from error
    await events.add(session, UserCreated(user_id=user.id, email=user.email), key=str(user.id))
    await session.commit()  # the user and its event, or neither
    logger.info("user %s created", user.id)
    return user


@router.get("", response_model=UserPage, responses=problem_responses(422, 503))
async def list_users(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    after: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="`next_cursor` of the previous page; leave out for the first page.",
        ),
    ] = None,
) -> UserPage:
    after_id = None
    if after is not None and (after_id := decode_cursor(after)) is None:
        not_a_cursor = {"loc": ("query", "after"), "msg": "not a cursor this API gave"}
        raise RequestValidationError([not_a_cursor])
    users = await service.list_users(session=session, limit=limit + 1, after_id=after_id)
    page = [UserPublic.model_validate(user) for user in users[:limit]]
    more = len(users) > limit
    return UserPage(items=page, next_cursor=cursor_after(page[-1].id) if more else None)


@router.get("/{user_id}", response_model=UserPublic, responses=problem_responses(404, 422, 503))
async def read_user(
    user_id: UserId,
    session: SessionDep,
    cache: CacheDep,
) -> UserPublic:
    if cached := await cache.get(user_cache_key(user_id)):
        return UserPublic.model_validate_json(cached)
    user = await valid_user_id(user_id, session)
    public = UserPublic.model_validate(user)
    # The read is done: its connection goes back to the pool before the cache's round trip,
    # so a slow cache never keeps other requests waiting for one.
    await session.commit()
    await cache.set(user_cache_key(user_id), public.model_dump_json(), version=user.version)
    return public


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    responses=problem_responses(400, 404, 409, 413, 422, 503),
)
async def update_user(
    data: UserUpdate,
    user: ValidUserDep,
    session: SessionDep,
    cache: CacheDep,
) -> User:
    try:
        await service.update_user(session=session, user=user, data=data)
    except service.EmailAlreadyRegisteredError as error:
        raise email_taken(error) from error
    await session.commit()
    await cache.invalidate(user_cache_key(user.id), version=user.version)
    return user
