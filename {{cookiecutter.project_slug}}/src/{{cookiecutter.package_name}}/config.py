"""Settings from the environment (and `.env`), one class per concern."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PLACEHOLDER_PASSWORDS = frozenset({"", "changeme", "change-me", "password", "postgres", "secret"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _env(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    model_config = _env("DATABASE_")

    url: str = "postgresql+psycopg://postgres:postgres@localhost:5432/{{ cookiecutter.package_name }}"
    pool_size: int = Field(default=5, ge=1)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def use_psycopg_driver(cls, url: str) -> str:
        """Accept the `postgresql://` / `postgres://` URLs platforms hand out."""
        parsed = make_url(url)
        if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername!r}")
        return parsed.render_as_string(hide_password=False)

    @property
    def password(self) -> str:
        return make_url(self.url).password or ""
{%- if cookiecutter.use_redis == "y" %}


class RedisSettings(BaseSettings):
    model_config = _env("REDIS_")

    url: str = "redis://localhost:6379/0"
    cache_ttl_seconds: int = Field(default=60, ge=1)
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}


class KafkaSettings(BaseSettings):
    model_config = _env("KAFKA_")

    bootstrap_servers: str = "localhost:9092"
    user_events_topic: str = "user.created"
    worker_group_id: str = "{{ cookiecutter.project_slug }}-worker"
    # Real brokers de-duplicate producer retries; turn off only for a broker without it.
    enable_idempotence: bool = True
{%- endif %}


class Settings(BaseSettings):
    model_config = _env("")

    environment: Environment = Environment.DEVELOPMENT
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
{%- if cookiecutter.use_redis == "y" %}
    redis: RedisSettings = Field(default_factory=RedisSettings)
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
{%- endif %}

    @model_validator(mode="after")
    def refuse_placeholder_secrets(self) -> Settings:
        if self.environment != Environment.DEVELOPMENT and (
            self.database.password.lower() in PLACEHOLDER_PASSWORDS
        ):
            raise ValueError(
                f"DATABASE_URL uses a placeholder password; set a real one "
                f"(ENVIRONMENT={self.environment.value})"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
