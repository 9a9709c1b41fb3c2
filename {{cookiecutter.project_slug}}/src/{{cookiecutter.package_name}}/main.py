"""The app factory; every connection is opened in the lifespan, none at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from {{ cookiecutter.package_name }} import health
{%- if cookiecutter.use_redis == "y" %}
from {{ cookiecutter.package_name }}.cache import Cache, create_redis, ping_redis
{%- endif %}
from {{ cookiecutter.package_name }}.config import Settings, get_settings
from {{ cookiecutter.package_name }}.db import create_engine, create_session_factory, ping_database
{%- if cookiecutter.use_kafka == "y" %}
from {{ cookiecutter.package_name }}.events import EventPublisher, create_producer, ping_kafka
{%- endif %}
from {{ cookiecutter.package_name }}.users.router import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.database)
    app.state.session_factory = create_session_factory(engine)
    checks: dict[str, health.ReadinessCheck] = {"postgres": partial(ping_database, engine)}
{%- if cookiecutter.use_redis == "y" %}
    redis = create_redis(settings.redis)
    app.state.cache = Cache(redis, settings.redis.cache_ttl_seconds)
    checks["redis"] = partial(ping_redis, redis)
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
    producer = create_producer(settings.kafka)
    await producer.start()
    app.state.event_publisher = EventPublisher(producer, settings.kafka)
    checks["kafka"] = partial(ping_kafka, producer)
{%- endif %}
    app.state.readiness_checks = checks
    try:
        yield
    finally:
{%- if cookiecutter.use_kafka == "y" %}
        await producer.stop()
{%- endif %}
{%- if cookiecutter.use_redis == "y" %}
        await redis.aclose()
{%- endif %}
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="{{ cookiecutter.project_name }}", lifespan=lifespan)
    app.state.settings = settings or get_settings()
    app.include_router(health.router)
    app.include_router(users_router)
    return app
