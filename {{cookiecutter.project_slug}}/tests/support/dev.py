"""Dev mode: the app against the suite's own containers, no .env and no compose needed.

    uv run python -m tests.support.dev [--port 8000] [--reuse]

Starts PostgreSQL{% if cookiecutter.use_redis == "y" %}, Redis{% endif %}{% if cookiecutter.use_kafka == "y" %} and Kafka{% endif %} with the test suite's definitions (or, with --reuse or
TC_REUSE=1, the containers a reusing test run left), upgrades a `dev` database to head and
runs the app with auto-reload{% if cookiecutter.use_kafka == "y" %} and the Kafka worker{% endif %}. Ctrl-C stops what it started.
"""

from __future__ import annotations

import argparse
{%- if cookiecutter.use_kafka == "y" %}
import asyncio
{%- endif %}
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from alembic import command
from testcontainers.core.labels import SESSION_ID

from tests.support.containers import RunningServices, {% if cookiecutter.use_redis == "y" %}redis_url, {% endif %}start_services
from tests.support.databases import alembic_config, ensure_database
from tests.support.images import compose_images
{%- if cookiecutter.use_kafka == "y" %}
from tests.support.kafka import supports_idempotent_producer
{%- endif %}
from tests.support.reuse import refuse_on_ci, reuse_requested

DEV_DATABASE = "dev"


def prepare_dev_environment(services: RunningServices) -> dict[str, str]:
    """Create (or keep) the dev database and migrate it to head; return the app's settings,
    as environment variables, pointing at the containers."""
    server_url = services.postgres.get_connection_url()
    database_url = ensure_database(server_url, DEV_DATABASE)
    command.upgrade(alembic_config(database_url), "head")
{%- if cookiecutter.use_kafka == "y" %}
    bootstrap_servers = services.kafka.get_bootstrap_server()
    idempotence = asyncio.run(supports_idempotent_producer(bootstrap_servers))
{%- endif %}
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
{%- if cookiecutter.use_redis == "y" %}
        "REDIS_URL": f"{redis_url(services.redis)}/0",
{%- endif %}
{%- if cookiecutter.use_kafka == "y" %}
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_ENABLE_IDEMPOTENCE": str(idempotence).lower(),
{%- endif %}
    }


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str, port: int, reuse: bool) -> int:
    if reuse:
        refuse_on_ci()
    services = start_services(compose_images(), workers=1, reuse=reuse)
    children: list[subprocess.Popen[bytes]] = []
    try:
        environment = {**os.environ, **prepare_dev_environment(services)}
        server = [
            sys.executable,
            "-m",
            "uvicorn",
            "{{ cookiecutter.package_name }}.main:create_app",
            "--factory",
            "--reload",
            "--reload-dir",
            "src",
            "--host",
            host,
            "--port",
            str(port),
        ]
        children.append(subprocess.Popen(server, env=environment))
{%- if cookiecutter.use_kafka == "y" %}
        worker = [
            sys.executable,
            "-m",
            "{{ cookiecutter.package_name }}.worker",
        ]
        children.append(subprocess.Popen(worker, env=environment))
{%- endif %}
        print(f"dev mode ready in session {SESSION_ID}:", flush=True)
        print(f"  app:      http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
        for name, value in environment.items():
            if name.endswith(("_URL", "_SERVERS")):
                print(f"  {name}={value}")
        kept = "the containers are kept (reuse)" if reuse else "and removes the containers"
        print(f"Ctrl-C stops the app {kept}.", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        return 1  # a child exited by itself: stop the rest and say so
    except KeyboardInterrupt:
        return 0
    finally:
        # Ctrl-C reaches the whole process group, often more than once: finish the clean-up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reuse", action="store_true", help="reuse kept containers, keep them")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    return run(args.host, args.port, reuse_requested(args.reuse))


if __name__ == "__main__":
    sys.exit(main())
