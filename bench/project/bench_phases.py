"""pytest plugin (bench only): when each phase of a run ended, per process, as JSON.

BENCH_PHASES=DIR pytest -p bench_phases ...   writes DIR/<pid>.json when the process ends.
Times are `time.time()` (one clock for every process); durations are seconds.
"""

import json
import os
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

LOADED = time.time()  # -p plugins load before conftest.py is imported
# tests: when each ran in this process; reports: setup/call/teardown seconds by node id (the
# xdist controller receives its workers' reports too).
record: dict[str, Any] = {"loaded": LOADED, "tests": [], "reports": {}, "fixtures": {}}


def timed_template_build() -> None:
    """Time the template migration inside the process that starts the services (if the run
    has imported the module doing it: importing it here would skew a unit-only run)."""
    postgres = sys.modules.get("tests.support.services.postgres")
    if postgres is None:
        return
    original = postgres.build_template

    def build_template(url: str) -> str:
        started = time.time()
        try:
            return original(url)
        finally:
            record["template_migration"] = time.time() - started

    postgres.build_template = build_template


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    record["configured"] = time.time()
    record["worker"] = getattr(config, "workerinput", {}).get("workerid", "controller")
    timed_template_build()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems() -> None:
    record["collected"] = time.time()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish() -> None:
    record.setdefault("services_ready", time.time())  # ours started them (tryfirst)


@pytest.hookimpl(trylast=True, optionalhook=True)
def pytest_xdist_node_collection_finished() -> None:
    record.setdefault("services_ready", time.time())  # the controller, under xdist


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
    started = time.time()
    try:
        return (yield)
    finally:
        if fixturedef.scope == "session":
            record["fixtures"][fixturedef.argname] = time.time() - started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, Any, Any]:
    started = time.time()
    try:
        return (yield)
    finally:
        record["tests"].append({"nodeid": item.nodeid, "start": started, "end": time.time()})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    record["reports"].setdefault(report.nodeid, {})[report.when] = report.duration


@pytest.hookimpl(trylast=True)
def pytest_unconfigure() -> None:
    record["unconfigured"] = time.time()
    directory = os.environ.get("BENCH_PHASES")
    if directory:
        (Path(directory) / f"{os.getpid()}.json").write_text(json.dumps(record))
