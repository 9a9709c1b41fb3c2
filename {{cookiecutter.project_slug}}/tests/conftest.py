"""The fixtures tests use. The machinery behind them lives in tests/support/.

Services start once per run, only if an integration test is selected (tests/support/plugin.py).
Isolation: each xdist worker has its own database cloned from a migrated template, and every
test runs in a transaction rolled back at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
{%- if cookiecutter.use_redis == "y" %}
from redis.asyncio import Redis
{%- endif %}
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from {{ cookiecutter.package_name }}.config import (
    DatabaseSettings,
    Environment,
{%- if cookiecutter.use_kafka == "y" %}
    KafkaSettings,
{%- endif %}
{%- if cookiecutter.use_redis == "y" %}
    RedisSettings,
{%- endif %}
    Settings,
)
from {{ cookiecutter.package_name }}.main import create_app
from tests.support.app import app_client, use_session
from tests.support.databases import (
    create_database,
    drop_database,
    rolled_back_session,
    unique_database_name,
)
from tests.support.endpoints import ENDPOINTS_PROVIDER, ServiceEndpoints{% if cookiecutter.use_redis == "y" %}, worker_index{% endif %}
{%- if cookiecutter.use_kafka == "y" %}
from tests.support.kafka import KafkaTopic, create_topic
{%- endif %}

pytest_plugins = ["tests.support.plugin"]


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest) -> ServiceEndpoints:
    """Addresses of the run's containers (started by the controller, or this process)."""
    return request.config.stash[ENDPOINTS_PROVIDER]()


@pytest.fixture(scope="session")
def worker_database_url(services: ServiceEndpoints, worker_id: str) -> str:
    """This worker's own database, cloned from the migrated template."""
    return create_database(
        services.postgres_url, f"test_{worker_id}", template=services.template_database
    )


@pytest.fixture(scope="session")
async def db_engine(worker_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(worker_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work, commits included, is rolled back after the test."""
    async with rolled_back_session(db_engine) as session:
        yield session


@pytest.fixture
def fresh_database(services: ServiceEndpoints) -> Iterator[str]:
    """URL of a new database cloned from the template, for tests that need real commits."""
    name = unique_database_name("fresh")
    yield create_database(services.postgres_url, name, template=services.template_database)
    drop_database(services.postgres_url, name)
{%- if cookiecutter.use_redis == "y" %}


@pytest.fixture
async def redis_url(services: ServiceEndpoints, worker_id: str) -> AsyncIterator[str]:
    """This worker's own Redis database, flushed after the test."""
    index = worker_index(worker_id) + 1
    assert index < services.redis_databases, "more xdist workers than Redis databases"
    url = f"{services.redis_url}/{index}"
    yield url
    async with Redis.from_url(url) as redis:
        await redis.flushdb()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        yield redis
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}


@pytest.fixture(scope="session")
async def worker_kafka_topic(services: ServiceEndpoints, worker_id: str) -> KafkaTopic:
    """The topic the app publishes to in ordinary tests: one per worker."""
    return await create_topic(services.kafka_bootstrap_servers, prefix=f"app-{worker_id}")


@pytest.fixture
async def kafka_topic(services: ServiceEndpoints) -> KafkaTopic:
    """A topic and consumer group of this test's own."""
    return await create_topic(services.kafka_bootstrap_servers)
{%- endif %}


@pytest.fixture
def settings(
    services: ServiceEndpoints,
    worker_database_url: str,
{%- if cookiecutter.use_redis == "y" %}
    redis_url: str,
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
    worker_kafka_topic: KafkaTopic,
{%- endif %}
) -> Settings:
    """Settings pointing at this worker's services; built explicitly, never via os.environ."""
    return Settings(
        environment=Environment.TEST,
        database=DatabaseSettings(url=worker_database_url),
{%- if cookiecutter.use_redis == "y" %}
        redis=RedisSettings(url=redis_url),
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
        kafka=KafkaSettings(
            bootstrap_servers=worker_kafka_topic.bootstrap_servers,
            user_events_topic=worker_kafka_topic.name,
            worker_group_id=worker_kafka_topic.group_id,
            enable_idempotence=services.kafka_idempotence,
        ),
{%- endif %}
    )


@pytest.fixture
def app(settings: Settings, db_session: AsyncSession) -> FastAPI:
    """The app, its requests using the test's rolled-back session."""
    return use_session(create_app(settings), db_session)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An httpx client talking to the app in-process, with its lifespan run."""
    async with app_client(app) as client:
        yield client
