"""Redis: a server without persistence, a logical database per worker (flushed after each
test that used it), and the fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from unittest import IsolatedAsyncioTestCase

import pytest
import redis
from redis.asyncio import Redis
from testcontainers.community.redis import RedisContainer

from {{ cookiecutter.package_name }}.integrations.redis import RedisSettings

from tests.support.endpoints import ServiceEndpoints
from tests.support.services import Endpoint, TestService, Worker

HOLDER_NAME = "tc-service-database-{}"  # the client name of the connection holding a database
CLAIM_KEY = "tc-service:claim:{}"  # guards a database while its holder names itself
CLAIM_SECONDS = 10


def database_count(workers: int) -> int:
    """Room for the workers of several runs sharing a reused server; database 0 is dev mode's."""
    return max(64, workers + 1)


class FreeDatabaseNotFoundError(RuntimeError):
    pass


def claim_database(url: str, databases: int) -> tuple[int, redis.Redis]:
    """Claim a logical database no live run holds, and flush what an earlier run left in it.

    The returned connection holds it, named after it, until it is closed (or its process
    dies); the claim key makes taking a database atomic between concurrent workers.
    """
    holder = redis.Redis.from_url(url, single_connection_client=True)
    held = {client["name"] for client in holder.client_list()}
    for index in range(1, databases):
        if HOLDER_NAME.format(index) in held:
            continue
        if holder.set(CLAIM_KEY.format(index), "claimed", nx=True, ex=CLAIM_SECONDS):
            holder.client_setname(HOLDER_NAME.format(index))
            with redis.Redis.from_url(f"{url}/{index}") as database:
                database.flushdb()
            return index, holder
    holder.close()
    raise FreeDatabaseNotFoundError(f"all {databases - 1} Redis test databases are held by runs")


@dataclass(frozen=True)
class RedisEndpoint:
    url: str
    databases: int


class RedisService(TestService[RedisContainer]):
    name = "redis"
    settings_fixture = "redis_settings"

    def container(self, image: str, workers: int) -> RedisContainer:
        return RedisContainer(image).with_command(
            f"redis-server --databases {database_count(workers)} --save '' --appendonly no"
        )

    def endpoint(self, container: RedisContainer) -> Endpoint:
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        databases = int(container.get_client().config_get("databases")["databases"] or 0)
        return {"url": f"redis://{host}:{port}", "databases": databases}

    def address(self, endpoint: Endpoint) -> str:
        return str(endpoint["url"])

    def dev_environment(self, container: RedisContainer) -> dict[str, str]:
        return {"REDIS_URL": f"{self.endpoint(container)['url']}/0"}

    def app_environment(self, endpoint: Endpoint, alias: str | None) -> dict[str, str]:
        """A database of the app's own, held until this process exits: an app process keeps
        cache entries across tests, for ids of its own database clone."""
        redis_endpoint = RedisEndpoint(**endpoint)
        index, holder = claim_database(redis_endpoint.url, redis_endpoint.databases)
        APP_DATABASE_HOLDERS.append(holder)
        server = redis_endpoint.url if alias is None else f"redis://{alias}:6379"
        return {"REDIS_URL": f"{server}/{index}"}

    async def set_up_test_case(
        self, case: IsolatedAsyncioTestCase, endpoint: Endpoint, worker: Worker
    ) -> RedisSettings:
        url, _ = claimed_database(RedisEndpoint(**endpoint))
        case.addAsyncCleanup(flush, url)
        return RedisSettings(url=url)


SERVICE = RedisService()
APP_DATABASE_HOLDERS: list[redis.Redis] = []


@cache
def claimed_database(endpoint: RedisEndpoint) -> tuple[str, redis.Redis]:
    """The URL of a database this process holds until it exits, and its holder."""
    index, holder = claim_database(endpoint.url, endpoint.databases)
    return f"{endpoint.url}/{index}", holder


async def flush(url: str) -> None:
    async with Redis.from_url(url) as client:
        await client.flushdb()


@pytest.fixture(scope="session")
def worker_redis_url(services: ServiceEndpoints) -> str:
    """This worker's own Redis database, claimed for the process."""
    url, _ = claimed_database(RedisEndpoint(**services.of(SERVICE.name)))
    return url


@pytest.fixture
async def redis_url(worker_redis_url: str) -> AsyncIterator[str]:
    """This worker's Redis database, flushed after the test."""
    yield worker_redis_url
    await flush(worker_redis_url)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings(url=redis_url)
