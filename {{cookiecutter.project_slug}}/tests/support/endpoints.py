"""Where the run's services are: written by the process that started them, read by workers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest


@dataclass(frozen=True)
class ServiceEndpoints:
    postgres_url: str
    template_database: str
{%- if cookiecutter.use_redis == "y" %}
    redis_url: str
    redis_databases: int
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
    kafka_bootstrap_servers: str
    kafka_idempotence: bool
{%- endif %}
    images: dict[str, str] = field(default_factory=dict)
    container_ids: dict[str, str] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> ServiceEndpoints:
        return cls(**json.loads(path.read_text()))

    def describe(self) -> list[str]:
        addresses = {
            "postgres": self.postgres_url.rpartition("@")[2],
{%- if cookiecutter.use_redis == "y" %}
            "redis": self.redis_url,
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
            "kafka": self.kafka_bootstrap_servers,
{%- endif %}
        }
        lines = [f"{name}: {image} at {addresses[name]}" for name, image in self.images.items()]
        lines.append(f"postgres: test databases are cloned from {self.template_database}")
{%- if cookiecutter.use_kafka == "y" %}
        if not self.kafka_idempotence:
            lines.append("kafka: this broker grants no producer ids; idempotence is off in tests")
{%- endif %}
        return lines


# How conftest reaches the endpoints without importing the plugin module (which pytest must
# import itself, through pytest_plugins, to rewrite its asserts).
ENDPOINTS_PROVIDER = pytest.StashKey[Callable[[], ServiceEndpoints]]()


def worker_index(worker_id: str) -> int:
    """0 without xdist ("master"), N for xdist's "gwN"."""
    match = re.fullmatch(r"gw(\d+)", worker_id)
    return int(match.group(1)) if match else 0
