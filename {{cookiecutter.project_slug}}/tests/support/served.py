"""The app as production runs it: uvicorn in a process of its own, configured only through
its environment (as the Dockerfile's command, without building the image), beside the run's
services. Everything it writes is kept, for the tests of its logs to read.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import PACKAGE

from tests.support.endpoints import ServiceEndpoints
from tests.support.services import app_environments
from tests.support.services.postgres import PostgresEndpoint, cloned_database

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
LOG_TAIL_LINES = 40


class AppNotServingError(RuntimeError):
    pass


@dataclass
class ServedApp:
    url: str
    environment: dict[str, str]  # all it was given
    output: list[str] = field(default_factory=list)  # its lines so far, stdout and stderr

    def log_records(self) -> list[dict[str, Any]]:
        """Its log lines so far, each a JSON object (production's format)."""
        return [json.loads(line) for line in list(self.output) if line.startswith("{")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def becomes_live(url: str, running: Callable[[], bool], timeout: float) -> bool:
    """Whether `url`/health/live answers within `timeout` seconds while `running()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=2):
                return True
        except OSError:  # refused, reset, timed out (URLError is one)
            if not running():
                return False
            time.sleep(0.1)
    return False


@contextmanager
def served_app_process(
    services: ServiceEndpoints, environment: dict[str, str]
) -> Iterator[ServedApp]:
    """Serve the app until exit with every service's variables (`app_environment` of its
    module in tests/support/services/), `environment` over them."""
    for_services = app_environments(services, on_network=False).values()
    variables = {key: value for env in for_services for key, value in env.items()}
    port = free_port()
    app_command = ["uvicorn", f"{PACKAGE}.main:create_app", "--factory"]  # the Dockerfile's
    process = subprocess.Popen(
        [sys.executable, "-m", *app_command, "--host", "127.0.0.1", "--port", str(port)],
        env=os.environ | variables | environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    app = ServedApp(f"http://127.0.0.1:{port}", variables | environment)
    stdout = process.stdout

    def keep_output() -> None:
        for line in stdout:
            app.output.append(line)

    reader = threading.Thread(target=keep_output, daemon=True)
    reader.start()
    try:
        if not becomes_live(app.url, lambda: process.poll() is None, START_TIMEOUT_SECONDS):
            tail = "".join(app.output[-LOG_TAIL_LINES:])
            raise AppNotServingError(f"the app did not serve {app.url}/health/live:\n{tail}")
        yield app
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def served_app(services: ServiceEndpoints, postgres: PostgresEndpoint) -> Iterator[ServedApp]:
    """One per worker that asks, over a database of its own; its output is kept."""
    with cloned_database(postgres) as database_url:
        environment = {"ENVIRONMENT": "test", "LOG_FORMAT": "json", "DATABASE_URL": database_url}
        with served_app_process(services, environment) as app:
            yield app
