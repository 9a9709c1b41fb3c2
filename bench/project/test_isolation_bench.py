"""The same test body under each per-test PostgreSQL isolation strategy.

bench/ copies this file into a baked default project and reads the per-test times from
pytest's JUnit report (setup + call + teardown). Not part of the generated suite.
"""

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from acme_users.models import Base, User
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import StaticPool
from tests.support.services.postgres import (
    PostgresEndpoint,
    create_database,
    drop_database,
    rolled_back_session,
    unique_database_name,
)

pytestmark = pytest.mark.integration
TESTS = range(int(os.environ.get("BENCH_TESTS", "200")))
TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


async def body(session: AsyncSession) -> None:
    """Insert a few rows through the session, commit, read them back."""
    session.add_all(
        [User(email=f"{uuid.uuid4().hex}@example.com", full_name="Bench") for _ in range(3)]
    )
    await session.commit()
    names = (await session.scalars(select(User.full_name).limit(3))).all()
    assert names == ["Bench"] * 3


async def database_engine(
    postgres: PostgresEndpoint, template: str
) -> AsyncIterator[tuple[str, AsyncEngine]]:
    name = unique_database_name("bench")
    engine = create_async_engine(create_database(postgres.url, name, template=template))
    yield name, engine
    await engine.dispose()
    drop_database(postgres.url, name)


@pytest.fixture(scope="session")
async def migrated_engine(postgres: PostgresEndpoint) -> AsyncIterator[AsyncEngine]:
    async for _, engine in database_engine(postgres, postgres.template_database):
        yield engine


@pytest.fixture(scope="session")
async def empty_engine(postgres: PostgresEndpoint) -> AsyncIterator[AsyncEngine]:
    async for _, engine in database_engine(postgres, "template0"):
        yield engine


@pytest.fixture
async def no_isolation(migrated_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(migrated_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
async def truncate_after(migrated_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(migrated_engine, expire_on_commit=False) as session:
        yield session
    async with migrated_engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def create_all_drop_all(empty_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with empty_engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with AsyncSession(empty_engine, expire_on_commit=False) as session:
        yield session
    async with empty_engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)


@pytest.fixture(scope="session")
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    """In-memory SQLite, one connection for the run, the schema created once.

    pysqlite's own transaction handling defeats SAVEPOINT; SQLAlchemy's documented recipe
    hands BEGIN to SQLAlchemy, so the rollback per test can contain the body's commits.
    """
    engine = create_async_engine("sqlite+aiosqlite:///:memory:", poolclass=StaticPool)

    @event.listens_for(engine.sync_engine, "connect")
    def no_pysqlite_transactions(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_rollback(sqlite_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with rolled_back_session(sqlite_engine) as session:
        yield session


@pytest.fixture
async def fresh_clone(postgres: PostgresEndpoint) -> AsyncIterator[AsyncSession]:
    async for _, engine in database_engine(postgres, postgres.template_database):
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session


@pytest.mark.parametrize("n", TESTS)
async def test_no_isolation(no_isolation: AsyncSession, n: int) -> None:
    await body(no_isolation)


@pytest.mark.parametrize("n", TESTS)
async def test_savepoint_rollback(db_session: AsyncSession, n: int) -> None:
    await body(db_session)


@pytest.mark.parametrize("n", TESTS)
async def test_truncate_cascade(truncate_after: AsyncSession, n: int) -> None:
    await body(truncate_after)


@pytest.mark.parametrize("n", TESTS)
async def test_create_all_drop_all(create_all_drop_all: AsyncSession, n: int) -> None:
    await body(create_all_drop_all)


@pytest.mark.parametrize("n", TESTS)
async def test_sqlite_rollback(sqlite_rollback: AsyncSession, n: int) -> None:
    await body(sqlite_rollback)


@pytest.mark.parametrize("n", TESTS)
async def test_fresh_clone(fresh_clone: AsyncSession, n: int) -> None:
    await body(fresh_clone)
