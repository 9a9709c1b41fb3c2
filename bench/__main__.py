"""What the generated suite's design buys, measured side by side in one run.

    uv run python -m bench [--tests N] [--json bench/results/latest.json]

Bakes the default project, then measures: per-test PostgreSQL isolation strategies,
containers per run for -n 1/2/4 against one set per worker, cold start in parallel against
one after another, the whole suite's wall time, and the bake time. Prints a Markdown table
and writes the numbers as JSON. Needs Docker with the project's images.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker

from tests.docker_watch import session_of, watch_containers
from tests.helpers import bake, project_images, pytest_in, run, synced

BENCH_DIR = Path(__file__).resolve().parent
STRATEGIES = {
    "test_no_isolation": "no isolation (baseline)",
    "test_savepoint_rollback": "savepoint rollback, per-worker clone (ours)",
    "test_truncate_cascade": "TRUNCATE ... CASCADE after each test",
    "test_create_all_drop_all": "create_all / drop_all per test (the guides)",
    "test_fresh_clone": "fresh clone of the template per test",
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def prepared_project(workdir: Path) -> Path:
    project = bake(workdir)
    (project / "tests" / "bench").mkdir()
    (project / "tests" / "bench" / "__init__.py").touch()
    shutil.copy(BENCH_DIR / "project" / "test_isolation_bench.py", project / "tests" / "bench")
    for helper in ("bench_timings.py", "containers_bench.py"):
        shutil.copy(BENCH_DIR / "project" / helper, project)
    return synced(project)


def measure_bake(repeats: int = 5) -> dict[str, float]:
    seconds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            bake(Path(scratch))
            seconds.append(time.perf_counter() - started)
    return {"median_s": statistics.median(seconds), "max_s": max(seconds)}


def measure_isolation(project: Path, tests: int) -> dict[str, dict[str, float]]:
    timings_file = project / "bench-timings.json"
    result = pytest_in(
        project,
        *("-q", "-p", "bench_timings", "tests/bench/test_isolation_bench.py"),
        env={"BENCH_TESTS": str(tests), "BENCH_TIMINGS": str(timings_file), "PYTHONPATH": "."},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    per_strategy: dict[str, list[dict[str, float]]] = defaultdict(list)
    for node_id, phases in json.loads(timings_file.read_text()).items():
        per_strategy[node_id.split("::")[1].split("[")[0]].append(phases)
    # The first test of each strategy also pays for its session fixtures: left out.
    totals = {name: [sum(p.values()) for p in runs[1:]] for name, runs in per_strategy.items()}
    fixtures = {
        name: [p["setup"] + p["teardown"] for p in runs[1:]] for name, runs in per_strategy.items()
    }
    baseline = statistics.median(totals["test_no_isolation"])
    return {
        name: {
            "median_ms": statistics.median(totals[name]) * 1000,
            "overhead_median_ms": (statistics.median(totals[name]) - baseline) * 1000,
            "overhead_p95_ms": (percentile(totals[name], 0.95) - baseline) * 1000,
            "fixture_median_ms": statistics.median(fixtures[name]) * 1000,
            "fixture_p95_ms": percentile(fixtures[name], 0.95) * 1000,
        }
        for name in STRATEGIES
    }


@contextmanager
def peak_memory_of_session(holder: dict[str, Any]) -> Iterator[None]:
    """Sample the memory of the containers of the run's Testcontainers session."""
    stop = threading.Event()
    holder["peak_mib"] = 0.0
    client = docker.from_env()

    def sample() -> None:
        while not stop.wait(0.5):
            containers = client.containers.list(filters={"label": "org.testcontainers.lang=python"})
            total = 0
            for container in containers:
                try:
                    memory = container.stats(stream=False, one_shot=True)["memory_stats"]
                except (docker.errors.DockerException, ValueError):
                    continue  # removed while sampled: its stats come back empty
                total += memory.get("usage", 0) - memory.get("stats", {}).get("inactive_file", 0)
            holder["peak_mib"] = max(holder["peak_mib"], total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def measure_suite_runs(project: Path) -> dict[str, dict[str, float]]:
    runs = {}
    for workers in ("1", "2", "4"):
        memory: dict[str, Any] = {}
        with watch_containers() as activity, peak_memory_of_session(memory):
            started = time.perf_counter()
            result = pytest_in(project, "-q", "-n", workers, "--ignore=tests/bench")
            wall = time.perf_counter() - started
        assert result.returncode == 0, result.stdout + result.stderr
        session = session_of(result.stdout)
        images = activity.images(session)
        runs[workers] = {
            "wall_s": wall,
            "containers": sum(count for image, count in images.items() if "ryuk" not in image),
            "peak_memory_mib": memory["peak_mib"],
        }
    return runs


READY = re.compile(r"ready in ([0-9.]+)s")


def measure_reuse(project: Path) -> dict[str, float]:
    """Container setup (start or adopt, template, endpoints) of a first and a second run."""
    setup = {}
    for label in ("first run (starts)", "second run (reuses)"):
        result = pytest_in(
            project,
            *("-q", "--reuse-containers", "tests/integration/test_health.py"),
            env={"CI": ""},  # reuse is refused on CI; the bench measures a local run
        )
        assert result.returncode == 0, result.stdout + result.stderr
        match = READY.search(result.stdout)
        assert match, result.stdout
        setup[label] = float(match.group(1))
    pytest_in(project, "--clean-reused-containers")
    return setup


def inner(project: Path, *args: str) -> dict[str, float]:
    result = run(
        project, "uv", "run", "python", "containers_bench.py", *args, env={"PYTHONPATH": "."}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(results: dict[str, Any]) -> str:
    iso = results["isolation"]
    ours = iso["test_savepoint_rollback"]
    lines = [
        f"Measured {results['date']} on {results['machine']}.",
        "",
        f"### Per-test PostgreSQL isolation ({results['tests_per_strategy']} tests each)",
        "",
        "Overhead: a test's time (setup + call + teardown) minus the median time of the same",
        "body with no isolation. Fixture: the isolation fixture's own setup + teardown.",
        "",
        "| strategy | per test, median | overhead, median / p95 | overhead vs ours "
        "| fixture, median / p95 | fixture vs ours |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in STRATEGIES.items():
        row = iso[name]
        if name in ("test_no_isolation", "test_savepoint_rollback"):
            overhead_ratio = "-"
        elif ours["overhead_median_ms"] > 0:
            overhead_ratio = f"{row['overhead_median_ms'] / ours['overhead_median_ms']:.1f}x"
        else:
            overhead_ratio = "unbounded (ours <= 0)"
        lines.append(
            f"| {label} | {row['median_ms']:.2f} ms "
            f"| {row['overhead_median_ms']:+.2f} / {row['overhead_p95_ms']:+.2f} ms "
            f"| {overhead_ratio} "
            f"| {row['fixture_median_ms']:.2f} / {row['fixture_p95_ms']:.2f} ms "
            f"| {row['fixture_median_ms'] / ours['fixture_median_ms']:.1f}x |"
        )
    at_rest = results["per_worker_sets"]["1"]["memory_mib"]
    lines += [
        "",
        "### Containers per run (services; Ryuk not counted)",
        "",
        "Ours: containers counted from Docker's events during a real run of the suite, and the",
        "peak memory of those containers during it. One set per worker (the guides' pattern):",
        f"n sets started as n workers would, memory at rest. One set at rest: {at_rest:.0f} MiB.",
        "",
        "| -n | ours: containers | ours: peak memory in the run | one set per worker: "
        "containers | one set per worker: memory at rest | suite wall time (ours) |",
        "|---|---|---|---|---|---|",
    ]
    for workers, run_ in results["suite_runs"].items():
        per_worker = results["per_worker_sets"][workers]
        lines.append(
            f"| {workers} | {run_['containers']} | {run_['peak_memory_mib']:.0f} MiB "
            f"| {per_worker['containers']} | {per_worker['memory_mib']:.0f} MiB "
            f"| {run_['wall_s']:.1f} s |"
        )
    cold = results["cold_start"]
    slowest = max(cold[f"{name} alone"] for name in ("postgres", "redis", "kafka"))
    lines += ["", "### Cold start of PostgreSQL + Redis + Kafka", "", "| how | seconds |"]
    lines += ["|---|---|", *(f"| {how} | {seconds:.2f} |" for how, seconds in cold.items())]
    lines += [f"| parallel minus the slowest alone | {cold['parallel (ours)'] - slowest:+.2f} |"]
    lines += ["", "### Container setup with --reuse-containers", "", "| run | seconds |"]
    lines += ["|---|---|"]
    lines += [f"| {run_} | {seconds:.2f} |" for run_, seconds in results["reuse_setup_s"].items()]
    bake_ = results["bake"]
    lines += [
        "",
        f"Bake of the default template: median {bake_['median_s']:.2f} s "
        f"(max {bake_['max_s']:.2f} s of 5).",
    ]
    return "\n".join(lines)


def machine(project: Path) -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    client = docker.from_env()
    stand_ins = [
        image
        for image in project_images(project)
        if "offline-images.stand-in" in (client.images.get(image).labels or {})
    ]
    images = "stand-in images (../shared/offline-images)" if stand_ins else "the real images"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {memory_gib:.0f} GiB, "
        f"Python {platform.python_version()}, {images}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--tests", type=int, default=200, help="tests per isolation strategy")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--report", action="store_true", help="only print the table of --json")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.json.read_text())))
        return
    # Users have bytecode caches; these machines turn them off for every process.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        project = prepared_project(Path(workdir))
        results: dict[str, Any] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": machine(project),
            "tests_per_strategy": args.tests,
            "bake": measure_bake(),
            "isolation": measure_isolation(project, args.tests),
            "cold_start": inner(project, "cold-start"),
            "suite_runs": measure_suite_runs(project),
            "per_worker_sets": {n: inner(project, "sets", n) for n in ("1", "2", "4")},
            "reuse_setup_s": measure_reuse(project),
        }
    results["bench_seconds"] = time.perf_counter() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(report(results))
    print(f"\n(bench took {results['bench_seconds']:.0f} s; numbers in {args.json})")


if __name__ == "__main__":
    main()
