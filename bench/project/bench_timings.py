"""pytest plugin (bench only): every test's setup/call/teardown seconds, as JSON.

BENCH_TIMINGS=out.json pytest -p bench_timings ...
"""

import json
import os
from collections import defaultdict

import pytest

timings: dict[str, dict[str, float]] = defaultdict(dict)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def round_robin(item: pytest.Item) -> int:
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("n", 0) if callspec else 0

    items.sort(key=round_robin)  # stable: keeps the file's order within each round


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    timings[report.nodeid][report.when] = report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("BENCH_TIMINGS")
    if path and not hasattr(session.config, "workerinput"):
        with open(path, "w") as out:
            json.dump(timings, out)
