"""Engine and session factories; the session dependency every router uses."""

from __future__ import annotations

import select
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from {{ cookiecutter.package_name }}.config import Environment, Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine requests (or the worker) use. Outside development, errors and logs show
    no SQL parameters: they hold users' data."""
    database = settings.database
    engine = create_async_engine(
        database.url.get_secret_value(),
        pool_size=database.pool_size,
        max_overflow=database.max_overflow,
        pool_timeout=database.pool_timeout_seconds,
        echo=database.echo,
        hide_parameters=settings.environment != Environment.DEVELOPMENT,
        connect_args={"connect_timeout": database.connect_timeout_seconds},
    )
    replace_dropped_connections(engine, database.ping_after_idle_seconds)
    return engine


IDLE_SINCE = "idle_since"


def has_input(socket_fileno: int) -> bool:
    """Whether the socket has something to read (or was closed), without waiting. poll, not
    select: select fails on a descriptor numbered past 1023, common in a busy server."""
    poller = select.poll()
    poller.register(socket_fileno, select.POLLIN)
    return bool(poller.poll(0))


def replace_dropped_connections(engine: AsyncEngine, ping_after_idle_seconds: float) -> None:
    """Never hand a request a connection the pool kept after the server or the network
    dropped it (a restart, a failover, a proxy's or a NAT's idle timeout), at a fraction of a
    ping per checkout (SQLAlchemy's pre-ping: a round trip a request). A server that closed a
    connection has left its goodbye on the socket, so a checkout looks there first, without a
    round trip; a connection idle longer than `ping_after_idle_seconds`, which a NAT or load
    balancer may have forgotten without a word, is pinged as well. Either way a dropped
    connection is replaced before the checkout returns."""

    @event.listens_for(engine.sync_engine, "checkin")
    def note_idle_since(dbapi_connection: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def replace_if_dropped(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None:  # opened for this checkout
            return
        connection = dbapi_connection.driver_connection  # psycopg's
        if connection.closed or has_input(connection.fileno()):
            # Unasked, an idle connection only hears the server's last words, or its close.
            raise DisconnectionError("closed by the server while in the pool")
        if time.monotonic() - idle_since >= ping_after_idle_seconds:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except engine.dialect.loaded_dbapi.Error as error:
                raise DisconnectionError("dropped while in the pool") from error


def create_health_engine(settings: Settings) -> AsyncEngine:
    """One connection of readiness's own: the check measures the database, never a wait
    behind the requests for the requests' pool."""
    database = settings.database
    return create_async_engine(
        database.url.get_secret_value(),
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.health_check_timeout_seconds,
        pool_recycle=300,
        hide_parameters=True,
        connect_args={"connect_timeout": database.connect_timeout_seconds},
    )


async def ping_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# SQLSTATE classes of a server that cannot serve: connection exception, insufficient
# resources (too many connections), operator intervention (shutting down, starting up).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot serve now (down, restarting, out of
    connections, or every connection of the pool busy), rather than anything about the query:
    worth a retry later, not a bug."""
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:  # no answer from the server at all (refused, reset, timed out)
        return isinstance(error, OperationalError | InterfaceError)
    return str(sqlstate)[:2] in UNAVAILABLE_SQLSTATE_CLASSES


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler succeeds, rolled back otherwise."""
    session_factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    request.app.state.database_outage.ended()  # problems.py counts the failures


SessionDep = Annotated[AsyncSession, Depends(get_session)]
