"""pytest plugin (bench only): every test's setup/call/teardown seconds, as JSON.

BENCH_TIMINGS=out.json pytest -p bench_timings ...
"""

import json
import os
from collections import defaultdict

import pytest

timings: dict[str, dict[str, float]] = defaultdict(dict)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    timings[report.nodeid][report.when] = report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("BENCH_TIMINGS")
    if path and not hasattr(session.config, "workerinput"):
        with open(path, "w") as out:
            json.dump(timings, out)
