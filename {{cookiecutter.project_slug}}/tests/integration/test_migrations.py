from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from {{ cookiecutter.package_name }}.models import Base

from tests.support.services.postgres import (
    PostgresEndpoint,
    alembic_config,
    create_database,
    drop_database,
    unique_database_name,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database(postgres: PostgresEndpoint) -> Iterator[str]:
    name = unique_database_name("empty")
    yield create_database(postgres.url, name)
    drop_database(postgres.url, name)


def tables(database_url: str) -> set[str]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(  # those of the models: an extension's are its own
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT EXISTS ("
            " SELECT FROM pg_depend WHERE classid = 'pg_class'::regclass"
            " AND objid = (quote_ident(tablename))::regclass AND deptype = 'e')"
        ).fetchall()
    return {row[0] for row in rows} - {"alembic_version"}


def test_upgrade_matches_the_models_and_downgrade_reverses_it(empty_database: str) -> None:
    from alembic import command  # here, not at the top: collecting a run must not import it

    config = alembic_config(empty_database)

    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    assert tables(empty_database) == set(Base.metadata.tables)

    command.downgrade(config, "base")
    assert tables(empty_database) == set()

    command.upgrade(config, "head")
    command.check(config)
