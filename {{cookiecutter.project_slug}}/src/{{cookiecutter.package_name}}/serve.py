"""Serve the app as production does (the Dockerfile's command):

    python -m {{ cookiecutter.package_name }}.serve [--host 0.0.0.0] [--port 8000]

uvicorn, one process: scale with replicas (containers, pods), which the platform restarts
and balances one by one, rather than with workers inside a container. SIGTERM or SIGINT
finishes the requests under way and the app's lifespan (the outbox relay hands back its
batch), then the process exits 0: uvicorn's own command line re-raises the signal once it
has shut down, and a process ended by SIGTERM reports 143, which supervisors count as a crash.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from types import FrameType

import uvicorn

from {{ cookiecutter.package_name }}.config import PACKAGE
from {{ cookiecutter.package_name }}.main import create_app


def exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """uvicorn puts this handler back after its graceful shutdown and raises the signal again."""
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {PACKAGE}.serve")
    parser.add_argument("--host", default="0.0.0.0")  # every interface: a container's
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, exit_cleanly)
    app = create_app()
    # What the app holds for its whole life (its modules, classes, routes) is never garbage,
    # yet each full collection walked all of it: a pause of every request, about 80 ms on
    # the service benchmark's machine. Frozen, collections walk only what requests create.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,  # the app's own logging (logs.py) configures uvicorn's loggers
        timeout_graceful_shutdown=5,  # requests still running then are cancelled
    )


if __name__ == "__main__":
    main()
