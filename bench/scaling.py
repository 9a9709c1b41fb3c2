"""How the suite's cost grows: the same generated tests repeated by parametrization, our
conftest against the guides', at each -n.

    uv run python -m bench scaling [--sizes 1 230 1150] [--workers 1 2 4]
                                   [--json bench/results/scaling.json] [--report]

The tests are the ones both conftests can run (bench/compare.py), repeated as many times
as brings them nearest each size (bench/project/repeat_tests.py). The two runs of a pair go
back to back, the first alternating. Per run: wall time, tests, containers (Ryuk apart) and
their peak memory; then the time each added test costs between one size and the next.
Target: ours at least 3x faster than the guides' pattern at 1,000+ tests and -n 4, and a flat
per-test cost.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.compare import BENCH_DIR, COMPARED_TESTS, guides_project, one_run
from tests.helpers import bake, synced

SPEEDUP_TARGET = 3.0
LARGE_SUITE = 1000
RUN_TIMEOUT_S = 3 * 3600


def prepared_projects(workdir: Path) -> dict[str, Path]:
    project = bake(workdir)
    shutil.copy(BENCH_DIR / "project" / "repeat_tests.py", project)
    synced(project)
    return {"ours": project, "guides": guides_project(project)}


def measure(args: argparse.Namespace, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "runs": {"ours": {}, "guides": {}},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        projects = prepared_projects(Path(workdir))
        warm_ups = {  # bytecode caches and a warm engine, as users have
            name: one_run(where, "-n", "2", *COMPARED_TESTS, env={"PYTHONPATH": "."})
            for name, where in projects.items()
        }
        base = warm_ups["ours"]["tests"]
        factors = sorted({max(1, round(size / base)) for size in args.sizes})
        pair = 0
        for factor in factors:
            for workers in args.workers:
                order = list(projects.items())[:: -1 if pair % 2 else 1]
                pair += 1
                for name, where in order:
                    measured = one_run(
                        where,
                        *("-p", "repeat_tests", "-n", str(workers), *COMPARED_TESTS),
                        env={"PYTHONPATH": ".", "BENCH_COPIES": str(factor)},
                        timeout=RUN_TIMEOUT_S,
                    )
                    results["runs"][name].setdefault(str(factor), {})[str(workers)] = measured
                    print(f"{name} x{factor} -n {workers}: {measured}", flush=True)
                    save(results)
    results["bench_seconds"] = time.perf_counter() - started
    return results


def per_added_test_ms(sizes: dict[str, dict[str, Any]], workers: str) -> list[tuple[str, float]]:
    """Between one size and the next: the extra wall time over the extra tests."""
    ordered = sorted(sizes.items(), key=lambda item: int(item[0]))
    steps = []
    for (_, smaller), (_, larger) in itertools.pairwise(ordered):
        if workers in smaller and workers in larger:
            a, b = smaller[workers], larger[workers]
            label = f"{a['tests']} -> {b['tests']}"
            steps.append((label, (b["wall_s"] - a["wall_s"]) / (b["tests"] - a["tests"]) * 1000))
    return steps


def report(results: dict[str, Any]) -> str:
    ours, guides = results["runs"]["ours"], results["runs"]["guides"]
    lines = [
        f"### The suite as it grows: the same tests repeated, our conftest against the guides' "
        f"({results['date']}, {results['cpus']} CPUs)",
        "",
        f"Generated test files: {', '.join(Path(test).name for test in COMPARED_TESTS)}, each "
        "test repeated by parametrization; the two runs of a row back to back, the first "
        "alternating. Containers from Docker's events (Ryuk apart), peak memory of the run's "
        "containers sampled together every 0.25 s.",
        "",
        "| tests | -n | ours: wall | guides: wall | guides / ours | ours: containers (Ryuk) "
        "| guides: containers (Ryuk) | ours: peak memory | guides: peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for factor in sorted(ours, key=int):
        for workers, mine in ours[factor].items():
            theirs = guides.get(factor, {}).get(workers)
            if theirs is None:
                continue
            ratio = theirs["wall_s"] / mine["wall_s"]
            lines.append(
                f"| {mine['tests']} | {workers} | {mine['wall_s']:.1f} s "
                f"| {theirs['wall_s']:.1f} s "
                f"| {ratio:.1f}x | {mine['containers']:.0f} ({mine['reapers']:.0f}) "
                f"| {theirs['containers']:.0f} ({theirs['reapers']:.0f}) "
                f"| {mine['peak_memory_mib']:.0f} MiB | {theirs['peak_memory_mib']:.0f} MiB |"
            )
            if mine["tests"] >= LARGE_SUITE and workers == "4":
                met = "met" if ratio >= SPEEDUP_TARGET else "NOT met"
                verdicts.append(
                    f"Target (ours at least {SPEEDUP_TARGET:.0f}x faster at "
                    f"{LARGE_SUITE:,}+ tests and -n 4): {ratio:.1f}x at {mine['tests']} "
                    f"tests, {met}."
                )
    lines += [
        "",
        "### Time each added test costs (wall time between two sizes over the tests added; ms)",
        "",
        "| -n | tests | ours | guides | guides / ours |",
        "|---|---|---|---|---|",
    ]
    workers_seen = sorted({workers for sizes in ours.values() for workers in sizes}, key=int)
    for workers in workers_seen:
        theirs = dict(per_added_test_ms(guides, workers))
        for label, mine in per_added_test_ms(ours, workers):
            if label in theirs:
                lines.append(
                    f"| {workers} | {label} | {mine:.0f} | {theirs[label]:.0f} "
                    f"| {theirs[label] / mine:.1f}x |"
                )
    return "\n".join([*lines, "", *verdicts])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scaling")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1, 230, 1150],
        help="about how many tests a run has (the selected tests repeated; 1: once)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "scaling.json")
    parser.add_argument("--report", action="store_true", help="only print the tables of --json")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(args.json.read_text())))
        return
    # Users have bytecode caches; these machines turn them off for every process.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict[str, Any]) -> None:
        args.json.write_text(json.dumps(results, indent=2))

    results = measure(args, save)
    save(results)
    print(report(results))
    print(f"\n(bench took {results['bench_seconds']:.0f} s; numbers in {args.json})")
