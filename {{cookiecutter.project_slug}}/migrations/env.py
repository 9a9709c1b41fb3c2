"""Alembic environment: the URL comes from the settings unless the caller set sqlalchemy.url."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.package_name }}.config import DatabaseSettings
from {{ cookiecutter.package_name }}.models import Base

config = context.config
# Callers that manage logging themselves (the test suite) set configure_logging to False.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or DatabaseSettings().url.get_secret_value()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


# Tables an extension creates (PostGIS's spatial_ref_sys, say) are the extension's, not the
# models': autogenerate and `alembic check` leave them alone.
EXTENSION_TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
WHERE c.relkind = 'r'
"""


def do_run_migrations(connection: Connection) -> None:
    with connection.begin():  # its own transaction: Alembic commits only one it began
        of_extensions = set(connection.exec_driver_sql(EXTENSION_TABLES).scalars())

    def include_object(
        item: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        return not (type_ == "table" and reflected and name in of_extensions)

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
