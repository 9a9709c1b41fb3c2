"""Redis: the cache behind `cache.Cache` (cache-aside reads with a TTL, versioned entries).

The cache is optional: while Redis cannot be reached, reads go to the database and fills are
skipped for `bypass_seconds` after each failure, with one warning per outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from pydantic import Field, SecretStr
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from {{ cookiecutter.package_name }}.config import (
    IntegrationSettings,
    Settings,
    env_settings,
)
from {{ cookiecutter.package_name }}.health import ReadinessCheck

logger = logging.getLogger(__name__)

# An entry is a hash: `version`, and `value` unless it is an invalidation marker.
FILL_UNLESS_STALE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local version = tonumber(ARGV[1])
if version < current or (version == current and redis.call('HEXISTS', KEYS[1], 'value') == 1) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
INVALIDATE_OLDER = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('HDEL', KEYS[1], 'value')
  redis.call('HSET', KEYS[1], 'version', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisSettings(IntegrationSettings):
    model_config = env_settings("REDIS_")

    url: SecretStr = SecretStr("redis://localhost:6379/0")  # may hold a password
    cache_ttl_seconds: float = Field(default=60, ge=0.001)  # kept to the millisecond
    # A cache must answer faster than the database it saves, or not at all.
    timeout_seconds: float = Field(default=0.25, gt=0)
    bypass_seconds: float = Field(default=5.0, ge=0)


def create_client(settings: RedisSettings) -> Redis:
    return Redis.from_url(
        settings.url.get_secret_value(),
        decode_responses=True,
        socket_connect_timeout=settings.timeout_seconds,
        socket_timeout=settings.timeout_seconds,
        retry=Retry(NoBackoff(), retries=1),  # one retry covers a connection the server closed
    )


class RedisCache:
    def __init__(self, redis: Redis, settings: RedisSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.fill = redis.register_script(FILL_UNLESS_STALE)
        self.invalidate_older = redis.register_script(INVALIDATE_OLDER)
        self.bypassed_until = 0.0

    async def get(self, key: str) -> str | None:
        value = await self.attempt(lambda: self.redis.hget(key, "value"), skippable=True)
        return value if isinstance(value, str) else None

    @property
    def ttl_milliseconds(self) -> int:
        return max(1, round(self.settings.cache_ttl_seconds * 1000))

    async def set(self, key: str, value: str, *, version: int) -> None:
        ttl = self.ttl_milliseconds
        await self.attempt(
            lambda: self.fill(keys=[key], args=[version, value, ttl]), skippable=True
        )

    async def invalidate(self, key: str, *, version: int) -> None:
        # Tried even while reads bypass the cache: a missed invalidation serves an old value
        # until the entry expires.
        ttl = self.ttl_milliseconds
        await self.attempt(lambda: self.invalidate_older(keys=[key], args=[version, ttl]))

    async def attempt(
        self, command: Callable[[], Awaitable[object]], *, skippable: bool = False
    ) -> object:
        if skippable and time.monotonic() < self.bypassed_until:
            return None
        try:
            result = await command()
        except RedisError as error:
            if self.bypassed_until == 0.0:
                logger.warning(
                    "cache unavailable, answering from the database: %s: %s",
                    type(error).__name__,
                    error,
                )
            self.bypassed_until = time.monotonic() + self.settings.bypass_seconds
            return None
        if self.bypassed_until:
            logger.info("cache available again")
            self.bypassed_until = 0.0
        return result


class RedisIntegration:
    name = "redis"
    required = False
    routers: tuple[APIRouter, ...] = ()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: Settings) -> AsyncIterator[ReadinessCheck]:
        config = settings.integration(RedisSettings)
        redis = create_client(config)
        app.state.cache = RedisCache(redis, config)

        async def ping() -> None:
            await redis.ping()

        try:
            yield ping
        finally:
            await redis.aclose()


INTEGRATION = RedisIntegration()
