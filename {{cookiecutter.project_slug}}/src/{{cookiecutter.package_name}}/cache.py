"""The cache routers use. An integration installs a real one; without it nothing is cached.

Entries are versioned so that invalidating after a commit cannot be undone by a read that
raced it. A read that missed fetches the row at version N and fills the cache with
`set(..., version=N)`; an update commits version N+1 and then calls
`invalidate(..., version=N+1)`, which leaves a marker that refuses any later fill older than
N+1. Without the marker, a read that fetched the old row before the commit but filled the
cache after the invalidation would serve the old row until the entry expired.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request


class Cache(Protocol):
    async def get(self, key: str) -> str | None:
        """The cached value, or None on a miss (and whenever the cache cannot answer)."""
        ...

    async def set(self, key: str, value: str, *, version: int) -> None:
        """Cache `value`, read at `version`, unless the entry already holds or was
        invalidated at a newer version."""
        ...

    async def invalidate(self, key: str, *, version: int) -> None:
        """Drop the entry after a commit of `version`: only values of `version` or newer
        may be cached from now on."""
        ...


class NoCache:
    """Keeps nothing: every read is a miss."""

    async def get(self, key: str) -> str | None:
        return None

    async def set(self, key: str, value: str, *, version: int) -> None:
        return None

    async def invalidate(self, key: str, *, version: int) -> None:
        return None


NO_CACHE = NoCache()


def app_cache(app: FastAPI) -> Cache:
    """The cache an integration installed, else one that keeps nothing."""
    cache: Cache = getattr(app.state, "cache", NO_CACHE)
    return cache


# async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop on every request (the service benchmark measured it).
async def get_cache(request: Request) -> Cache:
    return app_cache(request.app)


CacheDep = Annotated[Cache, Depends(get_cache)]
