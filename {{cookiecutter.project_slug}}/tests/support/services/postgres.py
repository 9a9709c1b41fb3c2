"""PostgreSQL: a server tuned for tests that runs the project's init scripts, the migrated
template database and a clone of it per worker, and the fixtures that isolate each test in a
transaction rolled back at the end."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from testcontainers.community.postgres import PostgresContainer

from tests.support.endpoints import ServiceEndpoints
from tests.support.reuse import migrations_hash
from tests.support.services import TestService, Worker

if TYPE_CHECKING:
    from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[3]
INIT_SCRIPTS = PROJECT_ROOT / "postgres" / "initdb.d"
POSTGRES_USER = "postgres"
POSTGRES_PASSWORD = "tests-only"  # not a placeholder: the settings refuse those outside development
DEV_DATABASE = "dev"
CLONE_ATTEMPTS = 20
STALE_TEMPLATES_KEPT = 2


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


class PostgresService(TestService[TunedPostgresContainer, PostgresEndpoint]):
    name = "postgres"
    endpoint_type = PostgresEndpoint

    def container(self, image: str, workers: int) -> TunedPostgresContainer:
        return TunedPostgresContainer(image)

    def endpoint(self, container: TunedPostgresContainer) -> PostgresEndpoint:
        url = container.get_connection_url()
        return PostgresEndpoint(url, build_template(url))

    def address(self, endpoint: PostgresEndpoint) -> str:
        return endpoint.url.rpartition("@")[2]

    def notes(self, endpoint: PostgresEndpoint) -> list[str]:
        return [f"test databases are cloned from {endpoint.template_database}"]

    def dev_environment(self, container: TunedPostgresContainer) -> dict[str, str]:
        """A `dev` database (kept across reuse), migrated to head."""
        database_url = ensure_database(container.get_connection_url(), DEV_DATABASE)
        migrate_to_head(database_url)
        return {"DATABASE_URL": database_url}

    def app_environment(self, endpoint: PostgresEndpoint, alias: str | None) -> dict[str, str]:
        """The server's own database: tests give the app a clone of the template over it."""
        url = endpoint.url
        return {"DATABASE_URL": url if alias is None else on_network(url, alias)}


SERVICE = PostgresService()


@pytest.fixture(scope="session")
def postgres(services: ServiceEndpoints) -> PostgresEndpoint:
    return services.of(SERVICE)


@cache
def worker_database(endpoint: PostgresEndpoint, worker: Worker) -> str:
    """The URL of this worker's own database, cloned from the migrated template once per
    process. Named after the run: runs sharing reused containers never touch each other's."""
    name = f"test_{worker.run_id}_{worker.name}"
    return create_database(endpoint.url, name, template=endpoint.template_database)


@pytest.fixture(scope="session")
def worker_database_url(postgres: PostgresEndpoint, worker: Worker) -> Iterator[str]:
    """This worker's own database, cloned from the migrated template."""
    url = worker_database(postgres, worker)
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


# -- databases: the migrated template, its clones, the rolled-back session --


def with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(database_url: str | None) -> Config:
    """The project's Alembic configuration, leaving this process's logging alone; without a
    `database_url`, env.py reads the settings, as the `alembic` command does."""
    from alembic.config import Config  # imported on use: most processes never migrate

    config = Config(PROJECT_ROOT / "alembic.ini")
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate_to_head(database_url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def create_database(server_url: str, name: str, *, template: str = "template0") -> str:
    """(Re)create database `name` as a copy of `template`; return its URL."""
    identifier = sql.Identifier(name)
    with psycopg.connect(_libpq_dsn(server_url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            identifier, sql.Identifier(template)
        )
        for attempt in range(CLONE_ATTEMPTS):
            try:
                connection.execute(statement)
                break
            except psycopg.errors.ObjectInUse:
                # Another worker is cloning the same template at this instant.
                if attempt == CLONE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
    return with_database(server_url, name)


def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` unless it exists (its data is kept); return its URL."""
    with psycopg.connect(_libpq_dsn(server_url), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_libpq_dsn(server_url), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def build_template(server_url: str) -> str:
    """Migrate an empty database to head once; every test database is cloned from it.

    It is named after the migrations, so a reused server rebuilds it only when they change;
    it is built under a temporary name and renamed, so a half-built one is never used. Two
    runs may build it at once (reused containers): the second rename loses and is dropped.
    """
    name = f"template_{migrations_hash()}"
    with psycopg.connect(_libpq_dsn(server_url), autocommit=True) as connection:
        existing = [
            row[0]
            for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'template\\_%'"
                " ORDER BY oid DESC"
            )
        ]
    if name in existing:
        return name
    # A run that started before the migrations changed may still clone the newest stale ones.
    for stale in existing[STALE_TEMPLATES_KEPT:]:
        drop_database(server_url, stale)
    building = unique_database_name("building")
    migrate_to_head(create_database(server_url, building))
    with psycopg.connect(_libpq_dsn(server_url), autocommit=True) as connection:
        try:
            connection.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(name)
                )
            )
        except psycopg.errors.DuplicateDatabase:
            connection.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(building)))
    return name


def unique_database_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def rolled_back_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is always rolled back.

    `create_savepoint` turns the code's own commit()/rollback() into savepoint operations,
    so code under test that commits still leaves nothing behind.
    """
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            # The outer ROLLBACK discards every savepoint with it; closing the session first
            # would cost one more round trip (ROLLBACK TO SAVEPOINT) on every test.
            await transaction.rollback()
            await session.close()
