import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }} import serve
from {{ cookiecutter.package_name }}.config import (
    DatabaseSettings,
    Environment,
    LogFormat,
    Settings,
)

from tests.support.entry_points import exit_status_and_output
from tests.support.services.postgres import alembic_config


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://app:s3cret@db:5432/app",
        "postgres://app:s3cret@db:5432/app",
        "postgresql+psycopg2://app:s3cret@db:5432/app",
        "postgresql+psycopg://app:s3cret@db:5432/app",
    ],
)
def test_database_url_is_normalised_to_psycopg(given: str) -> None:
    assert (
        DatabaseSettings(url=given).url.get_secret_value()
        == "postgresql+psycopg://app:s3cret@db:5432/app"
    )


def test_non_postgres_database_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be a PostgreSQL URL"):
        DatabaseSettings(url="mysql://app:s3cret@db/app")


@pytest.mark.parametrize(
    "given",
    [
        "mysql://app:Sup3r-s3cret@db/app",
        "postgresql://app:Sup3r-s3cret@db:not-a-port/app",
        "Sup3r-s3cret",
    ],
)
def test_a_bad_database_url_is_named_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    with pytest.raises(ValidationError) as refused:
        Settings()

    assert "DATABASE_URL" in str(refused.value)
    assert "Sup3r-s3cret" not in str(refused.value)  # what a traceback prints


def test_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env:s3cret@elsewhere/app")
    assert (
        Settings().database.url.get_secret_value()
        == "postgresql+psycopg://env:s3cret@elsewhere/app"
    )


@pytest.mark.parametrize("password", ["postgres", "changeme", "password", ""])
def test_placeholder_password_is_refused_in_production(password: str) -> None:
    database = DatabaseSettings(url=f"postgresql://app:{password}@db/app")
    with pytest.raises(ValidationError, match="placeholder password"):
        Settings(environment=Environment.PRODUCTION, database=database)


def test_placeholder_password_is_accepted_in_development() -> None:
    database = DatabaseSettings(url="postgresql://postgres:postgres@localhost/app")
    assert Settings(environment=Environment.DEVELOPMENT, database=database).database is database


def test_real_password_is_accepted_in_production() -> None:
    database = DatabaseSettings(url="postgresql://app:Xk39-long-and-random@db/app")
    assert Settings(environment=Environment.PRODUCTION, database=database).database is database


def test_no_secret_shows_in_the_settings_repr_str_or_dump() -> None:
    settings = Settings(database=DatabaseSettings(url="postgresql://app:Xk39-hidden@db/app"))

    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "Xk39-hidden" not in shown
    assert settings.database.password == "Xk39-hidden"


@pytest.mark.parametrize(
    ("environment", "log_format", "expected"),
    [
        (Environment.PRODUCTION, None, LogFormat.JSON),
        (Environment.DEVELOPMENT, None, LogFormat.TEXT),
        (Environment.TEST, None, LogFormat.TEXT),
        (Environment.DEVELOPMENT, LogFormat.JSON, LogFormat.JSON),
    ],
)
def test_logs_are_json_in_production_unless_told_otherwise(
    environment: Environment, log_format: LogFormat | None, expected: LogFormat
) -> None:
    database = DatabaseSettings(url="postgresql://app:Xk39-long-and-random@db/app")
    settings = Settings(environment=environment, log_format=log_format, database=database)

    assert settings.effective_log_format == expected


def start_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("signal.signal", lambda *handling: None)  # pytest keeps its handlers
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)  # served, then stopped
    serve.main(["--port", "0"])


def start_alembic_upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url=None), "head")


ENTRY_POINTS = {"the app": start_the_app, "alembic upgrade head": start_alembic_upgrade}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_refuses_a_bad_database_url_without_showing_it(
    entry_point: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://app:Sup3r-s3cret@db/app")

    status, output = exit_status_and_output(lambda: ENTRY_POINTS[entry_point](monkeypatch), capfd)

    assert status != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in output
    assert "Sup3r-s3cret" not in output
