"""Redis client and a small string cache with a TTL, for cache-aside reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from {{ cookiecutter.package_name }}.config import RedisSettings


def create_redis(settings: RedisSettings) -> Redis:
    return Redis.from_url(settings.url, decode_responses=True)


async def ping_redis(redis: Redis) -> None:
    await redis.ping()


class Cache:
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


def get_cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


CacheDep = Annotated[Cache, Depends(get_cache)]
