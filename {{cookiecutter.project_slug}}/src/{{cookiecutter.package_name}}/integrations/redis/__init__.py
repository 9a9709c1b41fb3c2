"""Redis: the cache behind `cache.Cache` (cache-aside reads with a TTL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from pydantic import Field
from redis.asyncio import Redis

from {{ cookiecutter.package_name }}.config import IntegrationSettings, Settings, env_settings
from {{ cookiecutter.package_name }}.health import ReadinessCheck


class RedisSettings(IntegrationSettings):
    model_config = env_settings("REDIS_")

    url: str = "redis://localhost:6379/0"
    cache_ttl_seconds: int = Field(default=60, ge=1)


class RedisCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(key)
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str) -> None:
        await self.redis.set(key, value, ex=self.ttl_seconds)

    async def delete(self, key: str) -> None:
        await self.redis.delete(key)


class RedisIntegration:
    name = "redis"
    routers: tuple[APIRouter, ...] = ()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: Settings) -> AsyncIterator[ReadinessCheck]:
        config = settings.integration(RedisSettings)
        redis = Redis.from_url(config.url, decode_responses=True)
        app.state.cache = RedisCache(redis, config.cache_ttl_seconds)

        async def ping() -> None:
            await redis.ping()

        try:
            yield ping
        finally:
            await redis.aclose()


INTEGRATION = RedisIntegration()
