"""The test services as Testcontainers, and starting them all at once.

Only the process that owns the test session (the xdist controller, or the single
pytest process) calls `start_services`; workers get the endpoints it wrote.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import docker
import docker.errors
from testcontainers.community.postgres import PostgresContainer
{%- if cookiecutter.use_redis == "y" %}
from testcontainers.community.redis import RedisContainer
{%- endif %}
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer, Reaper

{% if cookiecutter.use_kafka == "y" -%}
from tests.support.kafka import KafkaTestContainer, kafka_container
{% endif -%}
from tests.support.reuse import adopt_or_replace, labelled

POSTGRES_USER = "postgres"
POSTGRES_PASSWORD = "tests-only"  # not a placeholder: the settings refuse those outside development


class DockerUnavailableError(RuntimeError):
    pass


class TunedPostgresContainer(PostgresContainer):
    """PostgreSQL with its data on a tmpfs and durability off: a test server.

    PGDATA points INTO the tmpfs rather than mounting the tmpfs on the image's data
    directory: up to 17 the official image declares a VOLUME at /var/lib/postgresql/data,
    18 at /var/lib/postgresql, and a VOLUME below a tmpfs mount would shadow it.
    """

    TMPFS = "/var/lib/postgresql-tmpfs"

    def __init__(self, image: str) -> None:
        super().__init__(
            image,
            username=POSTGRES_USER,
            password=POSTGRES_PASSWORD,
            dbname="postgres",
            driver="psycopg",
        )
        self.with_tmpfs_mount(self.TMPFS)
        self.with_env("PGDATA", f"{self.TMPFS}/data")
        self.with_command(
            "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
{%- if cookiecutter.use_redis == "y" %}


def redis_databases(workers: int) -> int:
    """A logical database for every xdist worker, the first one left to the app's default."""
    return max(16, workers + 1)


def redis_container(image: str, workers: int) -> RedisContainer:
    """Redis without persistence."""
    return RedisContainer(image).with_command(
        f"redis-server --databases {redis_databases(workers)} --save '' --appendonly no"
    )


def redis_url(container: RedisContainer) -> str:
    return f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}"
{%- endif %}


@dataclass
class RunningServices:
    """The run's containers; `reused` ones were adopted from an earlier run and outlive this one."""

    postgres: TunedPostgresContainer
{%- if cookiecutter.use_redis == "y" %}
    redis: RedisContainer
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
    kafka: KafkaTestContainer
{%- endif %}
    started_in_seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    keep_running: bool = False

    def containers(self) -> dict[str, DockerContainer]:
        return {
            "postgres": self.postgres,
{%- if cookiecutter.use_redis == "y" %}
            "redis": self.redis,
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
            "kafka": self.kafka,
{%- endif %}
        }

    def stop(self) -> None:
        if not self.keep_running:
            stop_quietly(self.containers().values())


def ensure_docker() -> None:
    """Fail with what to do, not a docker-py traceback, when no engine answers."""
    try:
        docker.from_env().ping()
    except docker.errors.DockerException as error:
        where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is not set)"
        raise DockerUnavailableError(
            f"Docker is not reachable at {where}: {error}. Integration tests need a Docker "
            "engine: start one, or set DOCKER_HOST to a reachable engine; "
            "`pytest -m 'not integration'` runs the tests that need none."
        ) from error


def _start_timed(container: DockerContainer) -> float:
    started = time.perf_counter()
    container.start()
    return time.perf_counter() - started


def start_services(images: dict[str, str], workers: int, *, reuse: bool = False) -> RunningServices:
    """Start every service in parallel threads, so a cold start costs about the slowest one.

    With `reuse`, running containers of the same configuration are adopted instead, and
    what starts is kept running after the run (see tests/support/reuse.py).
    """
    ensure_docker()
    if reuse:
        testcontainers_config.ryuk_disabled = True  # Ryuk would remove what must outlive us
    elif not testcontainers_config.ryuk_disabled:
        Reaper.get_instance()  # before the threads: the reaper singleton is not thread-safe
    services = RunningServices(
        postgres=TunedPostgresContainer(images["postgres"]),
{%- if cookiecutter.use_redis == "y" %}
        redis=redis_container(images["redis"], workers),
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
        kafka=kafka_container(images["kafka"]),
{%- endif %}
    )
    services.keep_running = reuse
    containers = services.containers()
    if reuse:
        services.reused = [name for name, c in containers.items() if adopt_or_replace(c, name)]
        containers = {
            name: labelled(c, name) for name, c in containers.items() if name not in services.reused
        }
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(len(containers), 1)) as pool:
        futures = {name: pool.submit(_start_timed, c) for name, c in containers.items()}
        for name, future in futures.items():
            try:
                services.started_in_seconds[name] = future.result()
            except Exception as error:
                errors.append(f"{name} ({images[name]}): {type(error).__name__}: {error}")
    if errors:
        stop_quietly(containers.values())
        raise RuntimeError("could not start the test services: " + "; ".join(errors))
{%- if cookiecutter.use_redis == "y" %}
    if "redis" in services.reused:
        services.redis.get_client().flushall()  # what an earlier run left in worker databases
{%- endif %}
    return services


def stop_quietly(containers: Iterable[DockerContainer]) -> None:
    for container in containers:
        with contextlib.suppress(Exception):  # one that never started has nothing to stop
            container.stop()
