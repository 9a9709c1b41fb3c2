"""PostgreSQL for tests: the migrated template, clones of it, and the rolled-back session."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.support.reuse import migrations_hash

if TYPE_CHECKING:
    from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLONE_ATTEMPTS = 20
STALE_TEMPLATES_KEPT = 2


def with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config  # imported on use: most processes never migrate

    config = Config(PROJECT_ROOT / "alembic.ini")
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
