"""The project's processes as production runs them, configured only through their
environment, beside the run's services: the app (uvicorn, the Dockerfile's command, without
building the image) and any `python -m` entry point (the worker, say). Everything a process
writes is kept, for tests of its logs and of how it stops.
"""

from __future__ import annotations

import json
import os
import signal
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

from tests.support.containers import free_port
from tests.support.endpoints import ServiceEndpoints
from tests.support.services import app_environments
from tests.support.services.postgres import PostgresEndpoint, cloned_database

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
LOG_TAIL_LINES = 40


class AppNotServingError(RuntimeError):
    pass


@dataclass
class Process:
    """A process of the project's own (the app, the worker) and everything it wrote so far."""

    popen: subprocess.Popen[str]
    environment: dict[str, str]  # all it was given
    output: list[str] = field(default_factory=list)  # its lines, stdout and stderr

    def log_records(self) -> list[dict[str, Any]]:
        """Its log lines so far, each a JSON object (production's format)."""
        return [json.loads(line) for line in list(self.output) if line.startswith("{")]

    def wait_for_line(self, containing: str, timeout: float = START_TIMEOUT_SECONDS) -> str:
        """The first line holding `containing`; fails with its last lines if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := next((line for line in list(self.output) if containing in line), None):
                return found
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        tail = "".join(self.output[-LOG_TAIL_LINES:])
        raise AssertionError(f"no line with {containing!r} (exit: {self.popen.poll()}):\n{tail}")

    def stop(self, signal_number: int = signal.SIGTERM) -> tuple[int, float]:
        """Send `signal_number`; the exit code and the seconds the process took to exit
        (killed after STOP_TIMEOUT_SECONDS: then the code is the kill's)."""
        started = time.monotonic()
        self.popen.send_signal(signal_number)
        try:
            code = self.popen.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait()
        return code, time.monotonic() - started


@dataclass
class ServedApp(Process):
    url: str = ""


@contextmanager
def process_of_the_project(
    module_and_args: list[str], environment: dict[str, str]
) -> Iterator[Process]:
    """`python -m <module_and_args>` with `environment` over this one, until exit."""
    popen = subprocess.Popen(
        [sys.executable, "-m", *module_and_args],
        env=os.environ | environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process = Process(popen, environment)
    reader = threading.Thread(target=keep_output, args=(process,), daemon=True)
    reader.start()
    try:
        yield process
    finally:
        if popen.poll() is None:
            process.stop()
        reader.join(STOP_TIMEOUT_SECONDS)


def keep_output(process: Process) -> None:
    assert process.popen.stdout is not None
    for line in process.popen.stdout:
        process.output.append(line)


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
    command = [f"{PACKAGE}.serve", "--host", "127.0.0.1", "--port", str(port)]  # as the image
    with process_of_the_project(command, variables | environment) as process:
        url = f"http://127.0.0.1:{port}"
        app = ServedApp(process.popen, process.environment, process.output, url)
        if not becomes_live(app.url, lambda: process.popen.poll() is None, START_TIMEOUT_SECONDS):
            tail = "".join(app.output[-LOG_TAIL_LINES:])
            raise AppNotServingError(f"the app did not serve {app.url}/health/live:\n{tail}")
        yield app


@pytest.fixture(scope="session")
def served_app(
    services: ServiceEndpoints, postgres: PostgresEndpoint, every_service: None
) -> Iterator[ServedApp]:
    """One per worker that asks, over a database of its own; its output is kept."""
    with cloned_database(postgres) as database_url:
        environment = {"ENVIRONMENT": "test", "LOG_FORMAT": "json", "DATABASE_URL": database_url}
        with served_app_process(services, environment) as app:
            yield app
