"""Settings from the environment (and `.env`): the core here, each integration's in its package."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PACKAGE = __name__.partition(".")[0]
PLACEHOLDER_PASSWORDS = frozenset({"", "changeme", "change-me", "password", "postgres", "secret"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"  # one object per line, for log collectors
    TEXT = "text"  # for people at a terminal


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"],
    BeforeValidator(lambda level: level.upper() if isinstance(level, str) else level),
]


def env_settings(prefix: str) -> SettingsConfigDict:
    # An invalid value is named in the error, never shown: it may be a secret.
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", hide_input_in_errors=True
    )


def redacted(url: SecretStr) -> str:
    """The URL without its password, fit for a log line."""
    return make_url(url.get_secret_value()).render_as_string(hide_password=True)


class DatabaseSettings(BaseSettings):
    model_config = env_settings("DATABASE_")

    # A secret: it holds the password, and repr(), str() and model_dump() show only stars.
    url: SecretStr = SecretStr(f"postgresql+psycopg://postgres:postgres@localhost:5432/{PACKAGE}")
    # A fixed pool, as HikariCP's and pgx's are: its connections are opened as requests need
    # them and kept open; a request finding them all busy waits for one. Connections allowed
    # over pool_size are closed as soon as one goes back idle, so under a load that rises
    # and falls past pool_size the pool opened about one per request, each costing the
    # database a process and an authentication (the service benchmark: 15-18% of the app's
    # throughput on the database routes, and a third of the cold read's p99).
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=0, ge=0)  # connections over pool_size, closed when idle
    # How long a request waits for a connection of the pool before it is a 503.
    pool_timeout_seconds: float = Field(default=10, gt=0)
    connect_timeout_seconds: int = Field(default=5, ge=1)
    # A connection idle in the pool this long is pinged before a request gets it (one
    # reused sooner is checked without a round trip); 0 pings every one.
    ping_after_idle_seconds: float = Field(default=1, ge=0)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def use_psycopg_driver(cls, url: SecretStr) -> SecretStr:
        """Accept the `postgresql://` / `postgres://` URLs platforms hand out."""
        try:
            parsed = make_url(url.get_secret_value())
        except (ArgumentError, ValueError):  # the message may quote the URL, password included
            shape = "postgresql://user:password@host:port/database"
            raise ValueError(f"DATABASE_URL is not a URL of the form {shape}") from None
        if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername!r}")
        return SecretStr(parsed.render_as_string(hide_password=False))

    @property
    def password(self) -> str:
        return make_url(self.url.get_secret_value()).password or ""


class IntegrationSettings(BaseSettings):
    """The settings of one optional integration (src/<package>/integrations/<name>/), read
    from the environment under the integration's own prefix unless given explicitly."""


class Settings(BaseSettings):
    model_config = env_settings("")

    environment: Environment = Environment.DEVELOPMENT
    log_level: LogLevel = "INFO"
    log_format: LogFormat | None = None  # None: JSON in production, text elsewhere
    # The OpenAPI document's; None: the project's name, version and description.
    api_title: str | None = None
    api_version: str | None = None
    api_description: str | None = None
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)
    # Larger bodies are refused (413) before they are read.
    max_request_body_bytes: int = Field(default=1024 * 1024, gt=0)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    # Integration settings given explicitly (tests do); any integration not listed here
    # reads its own from the environment.
    integrations: tuple[IntegrationSettings, ...] = Field(default=(), exclude=True)

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

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.environment == Environment.PRODUCTION else LogFormat.TEXT

    def integration[T: IntegrationSettings](self, kind: type[T]) -> T:
        """The settings of one integration: as given, or read from the environment."""
        given = [settings for settings in self.integrations if isinstance(settings, kind)]
        return given[0] if given else kind()

    def with_integration(self, settings: IntegrationSettings) -> Settings:
        """A copy with `settings` in place of the integration settings of the same kind."""
        others = tuple(s for s in self.integrations if type(s) is not type(settings))
        return self.model_copy(update={"integrations": (*others, settings)})


@lru_cache
def get_settings() -> Settings:
    return Settings()
