"""PostgreSQL: a server tuned for tests, the migrated template database, a clone of it per
worker, and the fixtures that isolate each test in a transaction rolled back at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from testcontainers.community.postgres import PostgresContainer

from tests.support.databases import (
    PROJECT_ROOT,
    build_template,
    create_database,
    drop_database,
    ensure_database,
    migrate_to_head,
    rolled_back_session,
    unique_database_name,
)
from tests.support.endpoints import ServiceEndpoints
from tests.support.services import Endpoint, TestService, Worker

INIT_SCRIPTS = PROJECT_ROOT / "postgres" / "initdb.d"
POSTGRES_USER = "postgres"
POSTGRES_PASSWORD = "tests-only"  # not a placeholder: the settings refuse those outside development
DEV_DATABASE = "dev"


class TunedPostgresContainer(PostgresContainer):
    """PostgreSQL with its data on a tmpfs and durability off: a test server, which runs the
    project's init scripts (postgres/initdb.d/, as compose does) at its first start.

    PGDATA points INTO the tmpfs rather than mounting the tmpfs on the image's data
    directory: up to 17 the official image declares a VOLUME at /var/lib/postgresql/data,
    18 at /var/lib/postgresql, and a VOLUME below a tmpfs mount would shadow it. The scripts
    are copied in, not mounted: a copy reaches a remote engine (a CI job's docker:dind) too,
    and adds to the image's own scripts (PostGIS's) instead of hiding them.
    """

    TMPFS = "/var/lib/postgresql-tmpfs"
    INIT_SCRIPTS_IN_CONTAINER = "/docker-entrypoint-initdb.d"

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
        for script in init_scripts():
            self.with_copy_into_container(script, f"{self.INIT_SCRIPTS_IN_CONTAINER}/{script.name}")


def init_scripts() -> list[Path]:
    """The project's init scripts, in the order the server runs them."""
    return sorted(path for path in INIT_SCRIPTS.glob("*") if path.is_file())


@dataclass(frozen=True)
class PostgresEndpoint:
    url: str  # the server, as its superuser
    template_database: str  # migrated once per run; every test database is a clone of it


class PostgresService(TestService[TunedPostgresContainer]):
    name = "postgres"

    def container(self, image: str, workers: int) -> TunedPostgresContainer:
        return TunedPostgresContainer(image)

    def endpoint(self, container: TunedPostgresContainer) -> Endpoint:
        url = container.get_connection_url()
        return {"url": url, "template_database": build_template(url)}

    def address(self, endpoint: Endpoint) -> str:
        return str(endpoint["url"]).rpartition("@")[2]

    def notes(self, endpoint: Endpoint) -> list[str]:
        return [f"test databases are cloned from {endpoint['template_database']}"]

    def dev_environment(self, container: TunedPostgresContainer) -> dict[str, str]:
        """A `dev` database (kept across reuse), migrated to head."""
        database_url = ensure_database(container.get_connection_url(), DEV_DATABASE)
        migrate_to_head(database_url)
        return {"DATABASE_URL": database_url}

    def app_environment(self, endpoint: Endpoint, alias: str | None) -> dict[str, str]:
        """The server's own database: tests give the app a clone of the template over it."""
        url = str(endpoint["url"])
        return {"DATABASE_URL": url if alias is None else on_network(url, alias)}


SERVICE = PostgresService()


@pytest.fixture(scope="session")
def postgres(services: ServiceEndpoints) -> PostgresEndpoint:
    return PostgresEndpoint(**services.of(SERVICE.name))


@cache
def worker_database(endpoint: PostgresEndpoint, worker: Worker) -> str:
    """The URL of this worker's own database, cloned from the migrated template once per
    process. Named after the run: runs sharing reused containers never touch each other's."""
    name = f"test_{worker.run_id}_{worker.name}"
    return create_database(endpoint.url, name, template=endpoint.template_database)


@pytest.fixture(scope="session")
def worker_database_url(
    postgres: PostgresEndpoint, services: ServiceEndpoints, worker_id: str
) -> Iterator[str]:
    """This worker's own database, cloned from the migrated template."""
    url = worker_database(postgres, Worker(services.run_id, worker_id))
    yield url
    drop_database(postgres.url, make_url(url).database or "")


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


def on_network(url: str, alias: str = PostgresService.name) -> str:
    """`url` as a container on a network where the server answers to `alias` reaches it."""
    return make_url(url).set(host=alias, port=5432).render_as_string(hide_password=False)


@contextmanager
def cloned_database(postgres: PostgresEndpoint) -> Iterator[str]:
    """URL of a new database cloned from the template, dropped on exit."""
    name = unique_database_name("fresh")
    yield create_database(postgres.url, name, template=postgres.template_database)
    drop_database(postgres.url, name)


@pytest.fixture
def fresh_database(postgres: PostgresEndpoint) -> Iterator[str]:
    """URL of a new database cloned from the template, for tests that need real commits."""
    with cloned_database(postgres) as url:
        yield url
