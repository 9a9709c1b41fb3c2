import asyncio

import pytest
from httpx import AsyncClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.integrations.redis import RedisSettings
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.users.models import User
from {{ cookiecutter.package_name }}.users.router import user_cache_key
from tests.support.app import app_client, use_session
from tests.support.factories import UserFactory, create

pytestmark = pytest.mark.integration


async def rename_behind_the_cache(session: AsyncSession, user: User, full_name: str) -> None:
    user.full_name = full_name
    await session.flush()


async def test_read_is_a_miss_then_a_hit(
    client: AsyncClient, db_session: AsyncSession, redis_client: Redis
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    assert await redis_client.get(user_cache_key(user.id)) is None

    first = await client.get(f"/users/{user.id}")
    await rename_behind_the_cache(db_session, user, "Changed in the database only")
    second = await client.get(f"/users/{user.id}")

    assert first.json()["full_name"] == second.json()["full_name"] == "Ada"
    assert await redis_client.get(user_cache_key(user.id)) is not None


async def test_cached_entry_expires_after_its_ttl(
    settings: Settings, db_session: AsyncSession, redis_client: Redis
) -> None:
    short_lived = settings.integration(RedisSettings).model_copy(update={"cache_ttl_seconds": 1})
    app = use_session(create_app(settings.with_integration(short_lived)), db_session)
    user = await create(UserFactory, db_session, full_name="Ada")

    async with app_client(app) as client:
        await client.get(f"/users/{user.id}")
        assert 0 < await redis_client.ttl(user_cache_key(user.id)) <= 1
        await asyncio.sleep(1.2)
        assert await redis_client.get(user_cache_key(user.id)) is None


async def test_update_invalidates_the_cached_user(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    await client.get(f"/users/{user.id}")

    await client.patch(f"/users/{user.id}", json={"full_name": "Ada King"})
    after = await client.get(f"/users/{user.id}")

    assert after.json()["full_name"] == "Ada King"
