from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from {{ cookiecutter.package_name }}.cache import CacheDep
from {{ cookiecutter.package_name }}.db import SessionDep
from {{ cookiecutter.package_name }}.events import EventSinkDep
from {{ cookiecutter.package_name }}.users import service
from {{ cookiecutter.package_name }}.users.events import UserCreated
from {{ cookiecutter.package_name }}.users.models import MAX_USER_ID, User
from {{ cookiecutter.package_name }}.users.schemas import (
    MAX_PAGE_SIZE,
    UserCreate,
    UserPage,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

# Bounded by what the database holds: anything else is a 422, never a query that overflows.
UserId = Annotated[int, Path(ge=1, le=MAX_USER_ID)]
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a BIGINT


def user_cache_key(user_id: int) -> str:
    return f"users:{user_id}"


def email_conflict(error: service.EmailAlreadyRegisteredError) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_409_CONFLICT,
        detail=[{"loc": ["body", "email"], "msg": str(error), "type": "conflict"}],
    )


async def valid_user_id(user_id: UserId, session: SessionDep) -> User:
    user = await service.get_user(session=session, user_id=user_id)
    if user is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="user not found")
    return user


ValidUserDep = Annotated[User, Depends(valid_user_id)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def create_user(
    data: UserCreate,
    session: SessionDep,
    events: EventSinkDep,
) -> User:
    try:
        user = await service.create_user(session=session, data=data)
    except service.EmailAlreadyRegisteredError as error:
        raise email_conflict(error) from error
    events.add(session, UserCreated(user_id=user.id, email=user.email), key=str(user.id))
    await session.commit()  # the user and its event, or neither
    return user


@router.get("", response_model=UserPage)
async def list_users(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> UserPage:
    users = await service.list_users(session=session, limit=limit, offset=offset)
    return UserPage(
        items=[UserPublic.model_validate(user) for user in users],
        total=await service.count_users(session=session),
        limit=limit,
        offset=offset,
    )


@router.get("/{user_id}", response_model=UserPublic)
async def read_user(
    user_id: UserId,
    session: SessionDep,
    cache: CacheDep,
) -> UserPublic:
    if cached := await cache.get(user_cache_key(user_id)):
        return UserPublic.model_validate_json(cached)
    user = await valid_user_id(user_id, session)
    public = UserPublic.model_validate(user)
    await cache.set(user_cache_key(user_id), public.model_dump_json(), version=user.version)
    return public


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(
    data: UserUpdate,
    user: ValidUserDep,
    session: SessionDep,
    cache: CacheDep,
) -> User:
    try:
        await service.update_user(session=session, user=user, data=data)
    except service.EmailAlreadyRegisteredError as error:
        raise email_conflict(error) from error
    await session.commit()
    await cache.invalidate(user_cache_key(user.id), version=user.version)
    return user
