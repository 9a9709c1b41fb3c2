"""The generated app's request path against the bare baseline, in one run (bench only).

    python service_bench.py LOAD_DIR [--seconds 10] [--connections 32] [--rounds 2]
                            [--profile FILE]

Starts the project's services as its suite does, clones the migrated database, seeds users,
then serves the generated app as its image runs it (`python -m <package>.serve`: uvicorn,
ENVIRONMENT=production, JSON logs) and bare_app.py (the same SQL, nothing else) by the same
uvicorn, and drives each route with wrk from a process of its own, the two apps taking turns
round after round. With --profile, py-spy samples the generated app during one extra run of
the route PROFILE_ROUTE names (POST /users unless set). Prints the numbers as JSON on its
last line.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from acme_users.config import PACKAGE, Settings
from acme_users.db import create_engine, create_session_factory
from acme_users.integrations.kafka import KafkaSettings
from acme_users.integrations.kafka.outbox import OutboxEvent, OutboxRelay
from acme_users.users.events import USER_CREATED
from redis import Redis
from sqlalchemy.engine import make_url
from tests.support.containers import free_port, start_services
from tests.support.endpoints import ServiceEndpoints
from tests.support.images import compose_images
from tests.support.served import START_TIMEOUT_SECONDS, becomes_live
from tests.support.services import app_environments, present_services
from tests.support.services.kafka import SERVICE as KAFKA
from tests.support.services.kafka import ensure_topic
from tests.support.services.postgres import SERVICE as POSTGRES
from tests.support.services.postgres import cloned_database
from tests.support.services.redis import SERVICE as REDIS

SEEDED_USERS = 60_000  # more than a cold read run requests, so each id is read once
WARM_IDS = 100
ROUTES = ("POST /users", "GET /users/{id} warm", "GET /users/{id} cold", "GET /users page")


def with_bench_role(database_url: str) -> str:
    """A login role with a real password (production refuses the placeholder) and the
    rights the app needs on the clone's tables."""
    password = secrets.token_urlsafe(16)
    url = make_url(database_url)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS bench_app")  # a clone of an earlier run
        connection.execute(f"CREATE ROLE bench_app LOGIN PASSWORD '{password}'")
        connection.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO bench_app")
        connection.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO bench_app")
        connection.execute(
            "INSERT INTO users (email, full_name) SELECT 'seed-' || n || '@example.com', "
            f"'Seeded User' FROM generate_series(1, {SEEDED_USERS}) AS n"
        )
        connection.execute("ANALYZE")
    bench_url = url.set(username="bench_app", password=password)
    return bench_url.render_as_string(hide_password=False)


@contextmanager
def served(
    module_and_args: list[str], environment: dict[str, str], log: Path
) -> Iterator[tuple[str, int]]:
    """`python -m <module_and_args> --host 127.0.0.1 --port <free>` until exit, its output
    in `log`: a file, as a container's log driver takes it, never a pipe this process reads
    (a slow reader would block the app's every log write). Yields its URL and pid."""
    port = free_port()
    command = [sys.executable, "-m", *module_and_args, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=os.environ | environment, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            if not becomes_live(url, lambda: process.poll() is None, START_TIMEOUT_SECONDS):
                sys.exit(f"{module_and_args[0]} did not serve:\n" + log.read_text()[-4000:])
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def wrk(load_dir: Path, url: str, route: str, args: argparse.Namespace, first_id: int) -> dict:
    script = {"POST /users": "post_users.lua", "GET /users page": "page.lua"}.get(
        route, "read_users.lua"
    )
    combined = load_dir / f".{script}"
    combined.write_text((load_dir / script).read_text() + (load_dir / "report.lua").read_text())
    target = f"{url}/users?limit=20" if route == "GET /users page" else url
    ids = WARM_IDS if "warm" in route else SEEDED_USERS
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    command += ["-s", str(combined), target]
    environment = os.environ | {"FIRST_ID": str(first_id), "ID_COUNT": str(ids)}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    result["requests_per_s"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python service_bench.py")
    parser.add_argument("load_dir", type=Path)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("the service benchmark drives the apps with wrk: install it (apt-get install wrk)")

    running = start_services(present_services(compose_images()), workers=1)
    try:
        services = ServiceEndpoints.of_running(running)
        kafka = services.of(KAFKA)
        asyncio.run(ensure_topic(kafka.bootstrap_servers, KafkaSettings().user_events_topic))
        with cloned_database(services.of(POSTGRES)) as database_url:
            bench_url = with_bench_role(database_url)
            for_services = app_environments(services, on_network=False).values()
            generated_app = {key: value for env in for_services for key, value in env.items()}
            generated_app |= {"ENVIRONMENT": "production", "DATABASE_URL": bench_url}
            bare_app = {"BENCH_DATABASE_URL": bench_url, "PYTHONPATH": "."}
            bare_command = ["uvicorn", "bare_app:app", "--no-access-log", "--log-level", "warning"]
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {"app": {}, "bare": {}}
            with (
                served([f"{PACKAGE}.serve"], generated_app, args.load_dir / "app.log") as (
                    app,
                    app_pid,
                ),
                served(bare_command, bare_app, args.load_dir / "bare.log") as (bare, _),
            ):
                urls = {"app": app, "bare": bare}
                for name in urls:  # warm-up: connection pools, caches of the warm ids
                    wrk_args = argparse.Namespace(connections=args.connections, seconds=2)
                    wrk(args.load_dir, urls[name], "GET /users/{id} warm", wrk_args, 1)
                next_cold_id = WARM_IDS + 1
                for round_ in range(args.rounds):
                    for route in ROUTES:
                        order = ["app", "bare"] if round_ % 2 == 0 else ["bare", "app"]
                        for name in order:
                            first_id = 1
                            if "cold" in route:
                                Redis.from_url(services.of(REDIS).url).flushall()
                                first_id = next_cold_id
                            result = wrk(args.load_dir, urls[name], route, args, first_id)
                            if "cold" in route:
                                next_cold_id += result["requests"] + args.connections
                            runs[name].setdefault(route, []).append(result)
                if args.profile:
                    profile(app_pid, args, app)
            logged = (args.load_dir / "app.log").read_text().splitlines()
            errors = [line for line in logged if '"level": "ERROR"' in line]
            os.environ.update(generated_app)
            relay_ms = asyncio.run(relay_cpu_per_batch_of_one())
        measured = {"runs": runs, "app_errors": errors[:5], "seeded_users": SEEDED_USERS}
        print(json.dumps(measured | {"relay_cpu_ms_per_batch_of_one": relay_ms}))
    finally:
        running.stop()


async def relay_cpu_per_batch_of_one(batches: int = 300) -> float:
    """The outbox relay's own CPU time for one event a batch, the light-load case (each commit
    wakes it): the median of `batches`, in milliseconds, in this process with nothing else."""
    settings = Settings()
    engine = create_engine(settings)
    relay = OutboxRelay(create_session_factory(engine), settings.integration(KafkaSettings))
    spent = []
    try:
        for _ in range(batches):
            async with relay.session_factory() as session, session.begin():
                session.add(
                    OutboxEvent(
                        event_id=uuid.uuid4(), event_type=USER_CREATED, key="1", payload="{}"
                    )
                )
            started = time.process_time()
            assert await relay.publish_pending() == 1
            spent.append(time.process_time() - started)
    finally:
        await relay.close_producer()
        await engine.dispose()
    return statistics.median(spent) * 1000


def profile(pid: int, args: argparse.Namespace, url: str) -> None:
    """py-spy samples the app while wrk drives PROFILE_ROUTE; the samples land in --profile."""
    sampling = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(args.seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(args.profile),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
    )
    wrk(args.load_dir, url, os.environ.get("PROFILE_ROUTE", "POST /users"), args, 1)
    sampling.wait()


if __name__ == "__main__":
    main()
