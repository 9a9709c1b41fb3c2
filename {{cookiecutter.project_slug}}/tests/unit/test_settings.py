import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Environment, Settings


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
    assert DatabaseSettings(url=given).url == "postgresql+psycopg://app:s3cret@db:5432/app"


def test_non_postgres_database_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be a PostgreSQL URL"):
        DatabaseSettings(url="mysql://app:s3cret@db/app")


def test_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env:s3cret@elsewhere/app")
    assert Settings().database.url == "postgresql+psycopg://env:s3cret@elsewhere/app"


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
