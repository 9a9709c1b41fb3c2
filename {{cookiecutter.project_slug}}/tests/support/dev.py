"""Dev mode: the app against the suite's own containers, no .env and no compose needed.

    uv run python -m tests.support.dev [--port 8000] [--reuse]

Starts the test services with the suite's definitions (or, with --reuse or TC_REUSE=1, the
containers a reusing test run left), migrates a `dev` database to head and runs the app
with auto-reload, with whatever each service runs beside it (tests/support/services/).
Ctrl-C stops what it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from testcontainers.core.labels import SESSION_ID

from {{ cookiecutter.package_name }} import main as app_module

from tests.support.containers import RunningServices, start_services
from tests.support.images import compose_images
from tests.support.reuse import refuse_on_ci, reuse_requested
from tests.support.services import present_services


def prepare_dev_environment(running: RunningServices) -> dict[str, str]:
    """The app's settings, as environment variables, pointing at the containers."""
    environment = {"ENVIRONMENT": "development"}
    for name, service in running.services.items():
        environment.update(service.dev_environment(running.containers[name]))
    return environment


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str, port: int, reuse: bool) -> int:
    if reuse:
        refuse_on_ci()
    running = start_services(present_services(compose_images()), workers=1, reuse=reuse)
    children: list[subprocess.Popen[bytes]] = []
    try:
        environment = {**os.environ, **prepare_dev_environment(running)}
        server = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{app_module.__name__}:create_app",
            "--factory",
            "--reload",
            "--reload-dir",
            "src",
            "--host",
            host,
            "--port",
            str(port),
        ]
        commands = [server] + [
            command for service in running.services.values() for command in service.dev_commands()
        ]
        children += [subprocess.Popen(command, env=environment) for command in commands]
        print(f"dev mode ready in session {SESSION_ID}:", flush=True)
        print(f"  app:      http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
        for name, value in environment.items():
            if name.endswith(("_URL", "_SERVERS")):
                print(f"  {name}={value}")
        kept = "; the containers are kept (reuse)" if reuse else " and removes the containers"
        print(f"Ctrl-C stops the app{kept}.", flush=True)
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
        running.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reuse", action="store_true", help="reuse kept containers, keep them")
    args = parser.parse_args(argv)
    # uvicorn and the services' workers handle Ctrl-C whatever they inherit; started with
    # SIGINT ignored (a script's background job), dev mode would outlive its children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    return run(args.host, args.port, reuse_requested(args.reuse))


if __name__ == "__main__":
    sys.exit(main())
