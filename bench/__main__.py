"""What the generated suite's design buys, measured side by side in one run.

    uv run python -m bench [--tests N] [--json bench/results/latest.json]

Bakes the default project, then measures: per-test isolation strategies (in-memory SQLite
among them), the same generated tests with our conftest and with the guides' at -n 1/2/4
(wall time, containers, memory), the default suite's phases, the one-test inner loop and
its floor (importing pytest and the app, nothing run), cold start in parallel against one
after another, reuse, and the bake time. Prints Markdown tables and writes the numbers as
JSON. Needs Docker with the project's images.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker

from bench import scaling, service
from bench.compare import COMPARED_TESTS, guides_project, one_run
from tests.helpers import bake, project_images, pytest_in, run, synced

BENCH_DIR = Path(__file__).resolve().parent
STRATEGIES = {
    "test_no_isolation": "no isolation (baseline)",
    "test_savepoint_rollback": "savepoint rollback, per-worker clone (ours)",
    "test_truncate_cascade": "TRUNCATE ... CASCADE after each test",
    "test_create_all_drop_all": "create_all / drop_all per test (the guides)",
    "test_fresh_clone": "fresh clone of the template per test",
    "test_sqlite_rollback": "in-memory SQLite, create_all once, rollback per test",
}
ONE_TEST = "tests/integration/test_users_api.py::test_get_user"
# What any test of the app imports before it runs: pytest, the test client, the app.
IMPORT_FLOOR = "import pytest, httpx, acme_users.main"
KAFKA_GROUP_BOUND = "tests/integration/test_events.py"  # a new consumer group per test


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def prepared_project(workdir: Path) -> Path:
    project = bake(workdir)
    (project / "tests" / "bench").mkdir()
    (project / "tests" / "bench" / "__init__.py").touch()
    shutil.copy(BENCH_DIR / "project" / "test_isolation_bench.py", project / "tests" / "bench")
    for helper in ("bench_timings.py", "bench_phases.py", "containers_bench.py"):
        shutil.copy(BENCH_DIR / "project" / helper, project)
    synced(project)
    installed = run(project, "uv", "pip", "install", "--quiet", "aiosqlite")
    assert installed.returncode == 0, installed.stderr
    return project


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
            "p95_ms": percentile(totals[name], 0.95) * 1000,
            "overhead_median_ms": (statistics.median(totals[name]) - baseline) * 1000,
            "overhead_p95_ms": (percentile(totals[name], 0.95) - baseline) * 1000,
            "fixture_median_ms": statistics.median(fixtures[name]) * 1000,
            "fixture_p95_ms": percentile(fixtures[name], 0.95) * 1000,
        }
        for name in STRATEGIES
    }


def measure_whole_suite(project: Path, guides: Path) -> dict[str, dict[str, dict[str, float]]]:
    """The same generated tests with our conftest and the guides', interleaved: at each -n
    both run back to back, the one that goes first alternating."""
    runs: dict[str, dict[str, dict[str, float]]] = {"ours": {}, "guides": {}}
    for index, workers in enumerate(("1", "2", "4")):
        order = [("ours", project), ("guides", guides)]
        for name, where in order[:: -1 if index % 2 else 1]:
            runs[name][workers] = one_run(where, "-n", workers, *COMPARED_TESTS)
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


STARTED_IN = re.compile(r"test services started in session \S+ \(([^;]*);")


def phased_run(project: Path, *args: str) -> tuple[float, list[dict[str, Any]], str]:
    """Wall time of `uv run pytest ARGS` from process start to exit, the phase records of
    its processes (bench/project/bench_phases.py) and its output."""
    with tempfile.TemporaryDirectory() as phases:
        started = time.time()
        result = run(
            project,
            *("uv", "run", "pytest", "-p", "no:cacheprovider", "-p", "bench_phases", *args),
            env={"BENCH_PHASES": phases, "PYTHONPATH": ".", "CI": ""},
        )
        wall = time.time() - started
        assert result.returncode == 0, result.stdout + result.stderr
        records = [json.loads(path.read_text()) for path in Path(phases).glob("*.json")]
    for record in records:
        record["t0"] = started
    return wall, records, result.stdout


def one_test_phases(wall: float, records: list[dict[str, Any]], output: str) -> dict[str, float]:
    """Split a run of one test (or of the unit tests) into what a developer waits for."""
    main = next(r for r in records if r["worker"] == "controller")
    runner = next((r for r in records if r["tests"]), main)
    ready = READY.search(output)
    containers = float(ready.group(1)) if ready else 0.0
    reports = [runner["reports"][test["nodeid"]] for test in runner["tests"]]
    clone = runner["fixtures"].get("worker_database_url", 0.0)
    phases = {
        "uv, interpreter, pytest": main["loaded"] - main["t0"],
        "imports (conftest)": main["configured"] - main["loaded"],
        "collection": main["services_ready"] - main["configured"] - containers,
        "containers (start or adopt)": containers,
        "worker database clone": clone,
        "other fixtures": sum(r.get("setup", 0.0) for r in reports) - clone,
        "tests": sum(r.get("call", 0.0) for r in reports),
    }
    phases["teardown and exit"] = wall - sum(phases.values())
    return phases


def median_phases(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run_[key] for run_ in runs) for key in runs[0]}


def measure_inner_loop(project: Path, repeats: int = 3) -> dict[str, dict[str, float]]:
    """One test re-run after an edit: with kept containers, with -n 2, cold; and the unit
    tests alone. Medians of `repeats` runs each, phases included."""

    def timed(*args: str) -> dict[str, float]:
        runs = []
        for _ in range(repeats):
            wall, records, output = phased_run(project, *args)
            runs.append({"wall": wall, **one_test_phases(wall, records, output)})
        return median_phases(runs)

    rows = {}
    phased_run(project, "--reuse-containers", ONE_TEST)  # keeps the containers
    rows["one test, containers reused"] = timed("--reuse-containers", ONE_TEST)
    rows["one test, reused, -n 2"] = timed("-n", "2", "--reuse-containers", ONE_TEST)
    pytest_in(project, "--clean-reused-containers")
    rows["one test, cold"] = timed(ONE_TEST)
    rows['unit tests only (-m "not integration")'] = timed("-m", "not integration")
    return rows


def measure_import_floor(project: Path, repeats: int = 5) -> float:
    """Wall time of `uv run python -c IMPORT_FLOOR`, the median of `repeats`: no test run
    can take less, whatever its plugins and fixtures do."""
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run(project, "uv", "run", "python", "-c", IMPORT_FLOOR)
        walls.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr
    return statistics.median(walls)


def measure_suite_phases(project: Path) -> dict[str, float]:
    """The default suite at -n 2 (ours), its wall time split into phases."""
    wall, records, output = phased_run(project, "-n", "2", "--ignore=tests/bench")
    main = next(r for r in records if r["worker"] == "controller")
    workers = [r for r in records if r["worker"] != "controller"]
    started = STARTED_IN.search(output)
    assert started, output
    container_seconds = [float(part.split()[1].rstrip("s")) for part in started.group(1).split(",")]
    ready_in = float(READY.search(output).group(1))  # type: ignore[union-attr]
    last_test_end = max(test["end"] for worker in workers for test in worker["tests"])
    reports = {node: r for worker in workers for node, r in worker["reports"].items()}

    def summed(selected: list[str]) -> float:
        return sum(sum(reports[node].values()) for node in selected)

    kafka_bound = [node for node in reports if node.startswith(KAFKA_GROUP_BOUND)]
    others = [node for node in reports if not node.startswith(KAFKA_GROUP_BOUND)]
    return {
        "wall": wall,
        "startup (controller: uv, interpreter, imports)": main["configured"] - main["t0"],
        "workers start and collect": main["services_ready"] - main["configured"] - ready_in,
        "containers ready (all, in parallel)": ready_in,
        "  of which the slowest container's start": max(container_seconds),
        "  of which the template migration": main.get("template_migration", 0.0),
        "worker database clones (slowest worker)": max(
            w["fixtures"].get("worker_database_url", 0.0) for w in workers
        ),
        "tests (first to last, wall)": last_test_end - main["services_ready"],
        f"  summed over workers: Kafka-group-bound ({len(kafka_bound)} tests)": summed(kafka_bound),
        f"  summed over workers: the rest ({len(others)} tests)": summed(others),
        "teardown and exit": main["t0"] + wall - last_test_end,
    }


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
    whole = results["whole_suite"]
    lines += [
        "",
        "### The same tests, our conftest against the guides' (one container set per xdist",
        "### worker, create_all/drop_all per test)",
        "",
        f"Generated test files: {', '.join(Path(test).name for test in COMPARED_TESTS)},",
        "run back to back at each -n (the first of the pair alternating). Containers counted",
        "from Docker's events during the run (Ryuk apart: ours 1, the guides' one per worker),",
        "peak memory of the run's containers sampled together every 0.25 s.",
        "",
        "| -n | ours: wall | guides: wall | guides / ours | ours: containers (Ryuk) "
        "| guides: containers (Ryuk) | ours: peak memory | guides: peak memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workers, ours_run in whole["ours"].items():
        theirs = whole["guides"][workers]
        lines.append(
            f"| {workers} | {ours_run['wall_s']:.1f} s | {theirs['wall_s']:.1f} s "
            f"| {theirs['wall_s'] / ours_run['wall_s']:.1f}x "
            f"| {ours_run['containers']:.0f} ({ours_run['reapers']:.0f}) "
            f"| {theirs['containers']:.0f} ({theirs['reapers']:.0f}) "
            f"| {ours_run['peak_memory_mib']:.0f} MiB | {theirs['peak_memory_mib']:.0f} MiB |"
        )
    sqlite, ours_pg = iso["test_sqlite_rollback"], iso["test_savepoint_rollback"]
    lines += [
        "",
        "### Real PostgreSQL against in-memory SQLite, per test (the isolation bodies)",
        "",
        "| | median | p95 |",
        "|---|---|---|",
        f"| in-memory SQLite (aiosqlite), rollback per test | {sqlite['median_ms']:.2f} ms "
        f"| {sqlite['p95_ms']:.2f} ms |",
        f"| PostgreSQL, savepoint rollback on the worker's clone (ours) "
        f"| {ours_pg['median_ms']:.2f} ms | {ours_pg['p95_ms']:.2f} ms |",
        f"| ours / SQLite | {ours_pg['median_ms'] / sqlite['median_ms']:.2f}x "
        f"| {ours_pg['p95_ms'] / sqlite['p95_ms']:.2f}x |",
    ]
    loop = results["inner_loop"]
    columns = [key for key in next(iter(loop.values())) if key != "wall"]
    lines += [
        "",
        f"### The inner loop: `pytest {ONE_TEST}` (medians of 3; seconds)",
        "",
        "| run | wall | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for label, row in loop.items():
        cells = " | ".join(f"{row[key]:.2f}" for key in columns)
        lines.append(f"| {label} | **{row['wall']:.2f}** | {cells} |")
    if "import_floor_s" in results:  # absent from results of runs before it was measured
        lines += [
            "",
            f'The floor, no test run: `uv run python -c "{IMPORT_FLOOR}"` takes '
            f"{results['import_floor_s']:.2f} s wall (median of 5).",
        ]
    phases = results["suite_phases"]
    lines += [
        "",
        f"### The default suite at -n 2 (ours), by phase: {phases['wall']:.1f} s wall",
        "",
        "| phase | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in phases.items() if name != "wall"),
    ]
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
    if sys.argv[1:2] == ["service"]:
        service.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["scaling"]:
        scaling.main(sys.argv[2:])
        return
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
            "whole_suite": measure_whole_suite(project, guides_project(project)),
            "suite_phases": measure_suite_phases(project),
            "inner_loop": measure_inner_loop(project),
            "import_floor_s": measure_import_floor(project),
            "reuse_setup_s": measure_reuse(project),
        }
    results["bench_seconds"] = time.perf_counter() - started
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(report(results))
    print(f"\n(bench took {results['bench_seconds']:.0f} s; numbers in {args.json})")


if __name__ == "__main__":
    main()
