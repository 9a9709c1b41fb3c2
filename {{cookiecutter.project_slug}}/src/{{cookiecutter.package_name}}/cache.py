"""The cache routers use. An integration installs a real one; without it nothing is cached."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request


class Cache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class NoCache:
    """Keeps nothing: every read is a miss."""

    async def get(self, key: str) -> str | None:
        return None

    async def set(self, key: str, value: str) -> None:
        return None

    async def delete(self, key: str) -> None:
        return None


NO_CACHE = NoCache()


def get_cache(request: Request) -> Cache:
    cache: Cache = getattr(request.app.state, "cache", NO_CACHE)
    return cache


CacheDep = Annotated[Cache, Depends(get_cache)]
