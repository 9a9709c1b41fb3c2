"""The generated suite's tests, set up the way the guides do it (bench only).

The testcontainers-python and FastAPI guides: session-scoped container fixtures (under
xdist, one set per worker), and the schema created and dropped around every test. bench/
puts this file in place of tests/conftest.py in a copy of the baked project.
"""

from collections.abc import AsyncIterator, Iterator

import pytest
from acme_users.config import DatabaseSettings, Environment, Settings
from acme_users.db import Base
from acme_users.integrations.kafka import KafkaSettings
from acme_users.integrations.redis import RedisSettings
from acme_users.main import create_app
from fastapi import FastAPI
from httpx import AsyncClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from testcontainers.community.postgres import PostgresContainer
from testcontainers.community.redis import RedisContainer
from tests.support.app import app_client, use_session
from tests.support.images import compose_images
from tests.support.services.kafka import kafka_container

IMAGES = compose_images()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresContainer]:
    with PostgresContainer(IMAGES["postgres"], driver="psycopg") as container:
        yield container


@pytest.fixture(scope="session")
def redis_container() -> Iterator[RedisContainer]:
    with RedisContainer(IMAGES["redis"]) as container:
        yield container


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    with kafka_container(IMAGES["kafka"]) as container:
        yield container.get_bootstrap_server()


@pytest.fixture(scope="session")
async def engine(postgres: PostgresContainer) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres.get_connection_url())
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)


@pytest.fixture
async def redis_url(redis_container: RedisContainer) -> AsyncIterator[str]:
    host, port = redis_container.get_container_host_ip(), redis_container.get_exposed_port(6379)
    yield f"redis://{host}:{port}/0"
    async with Redis.from_url(f"redis://{host}:{port}/0") as client:
        await client.flushdb()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def settings(postgres: PostgresContainer, redis_url: str, kafka: str) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database=DatabaseSettings(url=postgres.get_connection_url()),
        integrations=(
            RedisSettings(url=redis_url),
            KafkaSettings(bootstrap_servers=kafka, enable_idempotence=False),
        ),
    )


@pytest.fixture
def app(settings: Settings, db_session: AsyncSession) -> FastAPI:
    return use_session(create_app(settings), db_session)


@pytest.fixture
def own_app(app: FastAPI) -> FastAPI:
    """The guides build an app per test: every test's app is its own."""
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with app_client(app) as client:
        yield client
