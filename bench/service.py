"""The generated service's own speed against a bare baseline, in one run.

    uv run python -m bench service [--seconds 10] [--connections 32] [--rounds 2]
                                   [--json bench/results/service.json]

Bakes the default project and runs bench/project/service_bench.py in it: the generated app
served as its image serves it and bare_app.py (the same SQL with nothing else), both against
the same containers and database, driven by wrk at fixed concurrency, taking turns. wrk is
C and one thread here: on a 2-core machine the load tool must leave the app its core (a
Python load generator would need one of its own). Targets, as ratios of the same run: the
generated app at least 70% of the baseline's throughput on every route, p99 at most 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.helpers import bake, run, synced

BENCH_DIR = Path(__file__).resolve().parent
THROUGHPUT_TARGET = 0.70
P99_TARGET = 1.5


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        project = bake(Path(workdir))
        for helper in ("service_bench.py", "bare_app.py"):
            shutil.copy(BENCH_DIR / "project" / helper, project)
        shutil.copytree(BENCH_DIR / "project" / "load", project / "load")
        synced(project)
        command = ["uv", "run", "python", "service_bench.py", "load"]
        command += ["--seconds", str(args.seconds), "--connections", str(args.connections)]
        command += ["--rounds", str(args.rounds)]
        if args.profile:
            installed = run(project, "uv", "pip", "install", "--quiet", "py-spy")
            assert installed.returncode == 0, installed.stderr
            command += ["--profile", str(args.profile.resolve())]
        done = run(project, *command, env={"PYTHONPATH": "."})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        measured: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        **measured,
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over the rounds."""
    return {
        key: statistics.median(run_[key] for run_ in runs)
        for key in ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "non_2xx", "socket_errors")
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        f"### The generated service against a bare baseline ({results['date']}, "
        f"{results['cpus']} CPUs, wrk -t1 -c{results['connections']}, "
        f"{results['seconds_per_run']} s a run, medians of {results['rounds']} rounds)",
        "",
        "| route | app: req/s | bare: req/s | app / bare | app: p50 / p95 / p99 ms "
        "| bare: p50 / p95 / p99 ms | p99 app / bare | errors (app, bare) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for route, app_runs in results["runs"]["app"].items():
        app, bare = summary(app_runs), summary(results["runs"]["bare"][route])
        throughput = app["requests_per_s"] / bare["requests_per_s"]
        p99 = app["p99_ms"] / bare["p99_ms"]
        lines.append(
            f"| {route} | {app['requests_per_s']:.0f} | {bare['requests_per_s']:.0f} "
            f"| {throughput:.2f}{'' if throughput >= THROUGHPUT_TARGET else ' (below 0.70)'} "
            f"| {app['p50_ms']:.1f} / {app['p95_ms']:.1f} / {app['p99_ms']:.1f} "
            f"| {bare['p50_ms']:.1f} / {bare['p95_ms']:.1f} / {bare['p99_ms']:.1f} "
            f"| {p99:.2f}{'' if p99 <= P99_TARGET else ' (above 1.5)'} "
            f"| {app['non_2xx'] + app['socket_errors']:.0f}, "
            f"{bare['non_2xx'] + bare['socket_errors']:.0f} |"
        )
    if "relay_cpu_ms_per_batch_of_one" in results:
        relay_ms = results["relay_cpu_ms_per_batch_of_one"]
        lines += [
            "",
            "The outbox relay's CPU time for a batch of one event (each commit its own batch, as "
            f"under a light load), median of 300: {relay_ms:.2f} ms",
        ]
    if results.get("app_errors"):
        lines += ["", "The app logged errors:", *results["app_errors"]]
    return "\n".join(lines)


def hottest(profile: Path, top: int = 15) -> str:
    """Where the app's samples in py-spy's raw (collapsed) output were running, by package,
    then the functions most often on the stacks. The package figures are the ones to trust:
    SQLAlchemy's asyncio layer runs statements in greenlets, whose frames py-spy records as
    stacks of their own, so a function's share of stacks undercounts what it calls."""
    packages: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        stack_frames = stack.split(";")
        packages[package_of(stack_frames[-1])] += samples
        for frame in set(stack_frames):
            frames[frame] += samples
    return "\n".join(
        [
            "By package, where the sample was running:",
            *(f"{n / total:6.1%}  {name}" for name, n in packages.most_common(top)),
            "Functions most often on the stacks:",
            *(f"{n / total:6.1%}  {frame}" for frame, n in frames.most_common(top)),
        ]
    )


def package_of(frame: str) -> str:
    """`read (asyncio/streams.py:711)` -> `asyncio`; a frame without a file is its own name."""
    _, _, location = frame.rpartition(" (")
    return location.split("/")[0].split(":")[0] if location else frame


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench service")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="py-spy's samples of the app, written here")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "service.json")
    parser.add_argument("--report", action="store_true", help="only print the table of --json")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(args.json.read_text())))
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # users have bytecode caches
    results = measure(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(report(results))
    if args.profile:
        route = os.environ.get("PROFILE_ROUTE", "POST /users")
        print(f"\nWhere the app spent its time under {route} ({args.profile}):")
        print(hottest(args.profile))
