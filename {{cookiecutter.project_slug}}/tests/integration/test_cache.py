import asyncio
import time

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.integrations.redis import RedisSettings
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.users.models import User
from {{ cookiecutter.package_name }}.users.router import user_cache_key

from tests.support.app import StalledFills, app_client, assert_serving_without, use_session
from tests.support.factories import UserFactory, create

pytestmark = pytest.mark.integration


UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def app_without_redis(settings: Settings, db_session: AsyncSession) -> FastAPI:
    unreachable = settings.integration(RedisSettings).model_copy(
        update={"url": SecretStr(UNREACHABLE_REDIS)}
    )
    return use_session(create_app(settings.with_integration(unreachable)), db_session)


async def rename_behind_the_cache(session: AsyncSession, user: User, full_name: str) -> None:
    user.full_name = full_name
    await session.flush()


async def test_read_is_a_miss_then_a_hit(
    client: AsyncClient, db_session: AsyncSession, redis_client: Redis
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    assert not await redis_client.exists(user_cache_key(user.id))

    first = await client.get(f"/users/{user.id}")
    await rename_behind_the_cache(db_session, user, "Changed in the database only")
    second = await client.get(f"/users/{user.id}")

    assert first.json()["full_name"] == second.json()["full_name"] == "Ada"
    assert await redis_client.exists(user_cache_key(user.id))


async def test_a_cached_entry_is_written_to_expire_after_the_configured_ttl(
    settings: Settings, db_session: AsyncSession, redis_client: Redis
) -> None:
    # Redis drops an entry when its expiry runs out; what the app decides is that expiry, read
    # here rather than waited for (a wait of the TTL each run, and under load a read slower
    # than a short TTL would find the entry gone and prove nothing). Not whole seconds: Redis
    # takes milliseconds.
    ttl_seconds = 42.5
    configured = settings.integration(RedisSettings).model_copy(
        update={"cache_ttl_seconds": ttl_seconds}
    )
    app = use_session(create_app(settings.with_integration(configured)), db_session)
    user = await create(UserFactory, db_session, full_name="Ada")

    async with app_client(app) as client:
        requested = time.monotonic()
        await client.get(f"/users/{user.id}")
        remaining_ms = await redis_client.pttl(user_cache_key(user.id))
        elapsed_ms = (time.monotonic() - requested) * 1000

    assert remaining_ms != -2, "the read cached nothing"
    assert remaining_ms != -1, "the entry was written without an expiry"
    # pttl rounds down to the millisecond.
    assert ttl_seconds * 1000 - elapsed_ms - 1 <= remaining_ms <= ttl_seconds * 1000


@pytest.mark.parametrize("attempt", [1, 2])
async def test_entries_do_not_leak_between_tests(redis_client: Redis, attempt: int) -> None:
    # Both runs add the same key only if it is absent; without the flush the second finds it.
    assert await redis_client.set("written-by-a-test", attempt, nx=True)


async def test_update_invalidates_the_cached_user(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    await client.get(f"/users/{user.id}")

    await client.patch(f"/users/{user.id}", json={"full_name": "Ada King"})
    after = await client.get(f"/users/{user.id}")

    assert after.json()["full_name"] == "Ada King"


async def test_a_read_racing_an_update_leaves_no_stale_entry(
    own_app: FastAPI, db_session: AsyncSession
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    async with app_client(own_app) as client:
        stalled = StalledFills(own_app.state.cache)
        own_app.state.cache = stalled
        # The read has the old row and is about to fill the cache when the update commits.
        read = asyncio.create_task(client.get(f"/users/{user.id}"))
        await asyncio.wait_for(stalled.fill_started.wait(), 5)
        await client.patch(f"/users/{user.id}", json={"full_name": "Ada King"})
        stalled.release.set()
        assert (await read).json()["full_name"] == "Ada"
        own_app.state.cache = stalled.cache

        after = await client.get(f"/users/{user.id}")

    assert after.json()["full_name"] == "Ada King"


async def test_reads_and_updates_answer_from_the_database_when_redis_is_unreachable(
    app_without_redis: FastAPI, db_session: AsyncSession
) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")

    async with app_client(app_without_redis) as client:
        read = await client.get(f"/users/{user.id}")
        updated = await client.patch(f"/users/{user.id}", json={"full_name": "Ada King"})
        read_again = await client.get(f"/users/{user.id}")

    assert [read.status_code, updated.status_code, read_again.status_code] == [200, 200, 200]
    assert read.json()["full_name"] == "Ada"
    assert read_again.json()["full_name"] == "Ada King"


async def test_readiness_shows_the_cache_degraded_when_redis_is_unreachable(
    app_without_redis: FastAPI,
) -> None:
    async with app_client(app_without_redis) as client:
        response = await client.get("/health/ready")

    assert_serving_without(response, "redis")  # the cache is optional: reads go to the database
