"""Redis: a server without persistence, a logical database per worker (flushed after each
test that used it), and the fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache

import pytest
from redis import Redis as BlockingRedis
from redis.asyncio import Redis
from testcontainers.community.redis import RedisContainer

from {{ cookiecutter.package_name }}.integrations.redis import RedisSettings

from tests.support.endpoints import ServiceEndpoints
from tests.support.services import TestService, Worker
from tests.support.settings import cached_settings

HOLDER_NAME = "tc-service-database-{}"  # the client name of the connection holding a database
CLAIM_KEY = "tc-service:claim:{}"  # guards a database while its holder names itself
CLAIM_SECONDS = 10


def database_count(workers: int) -> int:
    """Room for the workers of several runs sharing a reused server; database 0 is dev mode's."""
    return max(64, workers + 1)


class FreeDatabaseNotFoundError(RuntimeError):
    pass


def claim_database(url: str, databases: int) -> tuple[int, BlockingRedis]:
    """Claim a logical database no live run holds, and flush what an earlier run left in it.

    The returned connection holds it, named after it, until it is closed (or its process
    dies); the claim key makes taking a database atomic between concurrent workers.
    """
    holder = BlockingRedis.from_url(url, single_connection_client=True)
    held = {client["name"] for client in holder.client_list()}
    for index in range(1, databases):
        if HOLDER_NAME.format(index) in held:
            continue
        if holder.set(CLAIM_KEY.format(index), "claimed", nx=True, ex=CLAIM_SECONDS):
            holder.client_setname(HOLDER_NAME.format(index))
            with BlockingRedis.from_url(f"{url}/{index}") as database:
                database.flushdb()
            return index, holder
    holder.close()
    raise FreeDatabaseNotFoundError(f"all {databases - 1} Redis test databases are held by runs")


@dataclass(frozen=True)
class RedisEndpoint:
    url: str
    databases: int


class RedisService(TestService[RedisContainer, RedisEndpoint]):
    name = "redis"
    endpoint_type = RedisEndpoint
    settings_fixture = "redis_settings"

    def container(self, image: str, workers: int) -> RedisContainer:
        return RedisContainer(image).with_command(
            f"redis-server --databases {database_count(workers)} --save '' --appendonly no"
        )

    def endpoint(self, container: RedisContainer) -> RedisEndpoint:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        databases = int(container.get_client().config_get("databases")["databases"] or 0)
        return RedisEndpoint(f"redis://{host}:{port}", databases)

    def address(self, endpoint: RedisEndpoint) -> str:
        return endpoint.url

    @asynccontextmanager
    async def share(self, endpoint: RedisEndpoint, worker: Worker) -> AsyncIterator[RedisSettings]:
        """The process's database, flushed after the test."""
        url, _ = claimed_database(endpoint)
        try:
            yield cached_settings(RedisSettings, url=url)
        finally:
            flusher(url).flushdb()

    def dev_environment(self, container: RedisContainer) -> dict[str, str]:
        return {"REDIS_URL": f"{self.endpoint(container).url}/0"}

    def app_environment(self, endpoint: RedisEndpoint, alias: str | None) -> dict[str, str]:
        """A database of the app's own, held until this process exits: an app process keeps
        cache entries across tests, for ids of its own database clone."""
        index, holder = claim_database(endpoint.url, endpoint.databases)
        APP_DATABASE_HOLDERS.append(holder)
        server = endpoint.url if alias is None else f"redis://{alias}:6379"
        return {"REDIS_URL": f"{server}/{index}"}


SERVICE = RedisService()
APP_DATABASE_HOLDERS: list[BlockingRedis] = []


@cache
def flusher(url: str) -> BlockingRedis:
    """The process's connection for flushing its database after each test: a connection
    opened per test cost more than the flush. Blocking, so that it serves any event loop."""
    return BlockingRedis.from_url(url, single_connection_client=True)


@cache
def claimed_database(endpoint: RedisEndpoint) -> tuple[str, BlockingRedis]:
    """The URL of a database this process holds until it exits, and its holder."""
    index, holder = claim_database(endpoint.url, endpoint.databases)
    return f"{endpoint.url}/{index}", holder


@pytest.fixture(scope="session")
def redis(services: ServiceEndpoints) -> RedisEndpoint:
    return services.of(SERVICE)


@pytest.fixture
async def redis_settings(redis: RedisEndpoint, worker: Worker) -> AsyncIterator[RedisSettings]:
    """This test's share: the process's database, flushed after the test."""
    async with SERVICE.share(redis, worker) as settings:
        yield settings


@pytest.fixture
async def redis_client(redis_settings: RedisSettings) -> AsyncIterator[Redis]:
    async with Redis.from_url(
        redis_settings.url.get_secret_value(), decode_responses=True
    ) as client:
        yield client
