"""Pytest hooks that give a run its services: started once, by the process owning the session,
and only those its selected tests use.

Without xdist that is the only pytest process. With xdist it is the controller: workers
never start containers, because a worker's Ryuk session would reap them when that worker
exits, under the other workers' feet. Which services the run needs is known only after
collection, from each selected integration test's fixture closure (a service's fixtures all
depend on the one named after it), which under xdist happens in the workers; each worker
writes the list to a file of its own in a shared directory, and the controller starts those
services when the first worker reports its collection, before any test is scheduled, from
that worker's file (another worker may be writing its own at that moment). Workers read the
endpoints from the same directory.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark.expression import Expression
from testcontainers.core.config import testcontainers_config
from testcontainers.core.labels import SESSION_ID

from {{ cookiecutter.package_name }}.config import IntegrationSettings

from tests.support.container_engine import EngineUnreachableError, engine
from tests.support.containers import (
    LOG_TAIL_LINES,
    ReaperStartedEarly,
    RunningServices,
    StartFailure,
    container_log_tails,
    start_services,
)
from tests.support.endpoints import ENDPOINTS_PROVIDER, ServiceEndpoints, use_endpoints_of_run
from tests.support.images import as_started, compose_images
from tests.support.reuse import (
    ReuseRefusedError,
    refuse_on_ci,
    remove_project_containers,
    reuse_requested,
)
from tests.support.services import (
    MissingComposeServiceError,
    Worker,
    depending_on,
    loaded_services,
    module_names,
    present_services,
)

PLUGIN_NAME = "tc-service-services"
HYPOTHESIS_PLUGIN = "hypothesispytest"  # its entry point's name
HANDOFF_DIR_KEY = "tc_service_handoff_dir"
ENDPOINTS_FILE = "endpoints.json"
IMAGE_TESTS_SKIPPED = "builds the app's image from the Dockerfile: run with --image"


def services_needed_file(handoff_dir: Path, worker_id: str) -> Path:
    return handoff_dir / f"services-needed-{worker_id}.json"


def image_tests_requested(config: pytest.Config) -> bool:
    """`--image`, or TC_IMAGE=1 (what CI sets: a copied workflow then runs anywhere)."""
    return bool(config.getoption("image")) or os.environ.get("TC_IMAGE", "") not in ("", "0")


def services_used(items: list[pytest.Item]) -> dict[str, int]:
    """How many selected, runnable integration tests use each service: those whose fixture
    closure holds the fixture named after it (IntegrationTestCase names every one)."""
    used: Counter[str] = Counter()
    for item in items:
        if item.get_closest_marker("integration") and not item.get_closest_marker("skip"):
            closure = set(getattr(item, "fixturenames", ()))
            used.update(name for name in module_names() if name in closure)
    return dict(used)


MarkCall = tuple[str, tuple[tuple[str, object], ...]]  # `name` or `name(key=value, ...)`


class _Undecided(Exception):
    def __init__(self, mark: MarkCall) -> None:
        self.mark = mark


class _AssumedMarks:
    """A test carrying `mark` and, of the marks asked about, those `present` says."""

    def __init__(self, mark: str, present: dict[MarkCall, bool]) -> None:
        self.mark = mark
        self.present = present

    def __call__(self, name: str, /, **kwargs: str | int | bool | None) -> bool:
        call = (name, tuple(sorted(kwargs.items())))
        if call == (self.mark, ()):
            return True
        if call not in self.present:
            raise _Undecided(call)
        return self.present[call]


def can_select_a_test_marked(mark: str, markexpr: str) -> bool:
    """Whether `-m markexpr` selects some test carrying `mark`, whatever its other marks:
    each mark the expression asks about is tried present and absent."""
    try:
        # pytest's own parser (private; there is no public one), so that an expression means
        # here what it means to -m. A unit test holds it.
        expression = Expression.compile(markexpr)
    except SyntaxError:
        return True  # pytest reports it
    pending: list[dict[MarkCall, bool]] = [{}]
    while pending:
        present = pending.pop()
        try:
            if expression.evaluate(_AssumedMarks(mark, present)):
                return True
        except _Undecided as undecided:
            pending += [{**present, undecided.mark: value} for value in (True, False)]
    return False


class ServicesPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.running: RunningServices | None = None
        self._endpoints: ServiceEndpoints | None = None
        self._decided = False
        self.reuse = reuse_requested(config.getoption("reuse_containers"))
        self.early_reaper: ReaperStartedEarly | None = None
        if self.is_worker:
            workerinput: dict[str, Any] = getattr(config, "workerinput")  # noqa: B009
            self.handoff_dir = Path(workerinput[HANDOFF_DIR_KEY])
            self.worker_id: str = workerinput["workerid"]
        else:
            self.handoff_dir = Path(tempfile.mkdtemp(prefix="tc-service-"))

    # -- every process ---------------------------------------------------------------

    @property
    def integration_dir(self) -> Path:
        return self.config.rootpath / "tests" / "integration"

    def may_select_integration_tests(self) -> bool:
        """Whether the run's `-m` can select an integration test and one of its paths holds
        tests/integration/ or lies in it. A test elsewhere may be marked integration too: such
        a run starts Ryuk with its services, once collected."""
        option = self.config.option
        if option.collectonly:
            return False
        if option.markexpr and not can_select_a_test_marked("integration", option.markexpr):
            return False
        here = self.config.invocation_params.dir
        paths = [(here / arg.split("::")[0]).resolve() for arg in self.config.args]
        return any(
            self.integration_dir.is_relative_to(path) or path.is_relative_to(self.integration_dir)
            for path in paths
        )

    @pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """A test under tests/integration/ is an integration test, with the mark or without."""
        for item in items:
            if item.path.is_relative_to(self.integration_dir):
                item.add_marker(pytest.mark.integration)
            if item.get_closest_marker("image") and not image_tests_requested(self.config):
                item.add_marker(pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED))

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        """`-m "not integration"` does not import tests/integration/ (schemathesis and the
        rest of what its tests use): none of its tests could be selected."""
        markexpr: str = self.config.option.markexpr
        if markexpr and collection_path == self.integration_dir:
            return not can_select_a_test_marked("integration", markexpr) or None
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            return
        used = services_used(session.items)
        if not used:
            return
        if self.is_worker:
            # Written before xdist reports this worker's collection to the controller.
            needed = services_needed_file(self.handoff_dir, self.worker_id)
            needed.write_text(json.dumps(used))
        else:
            self._start(used)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        try:
            services = present_services(compose_images())
        except MissingComposeServiceError as error:
            return [f"test services: {error}"]
        images = ", ".join(f"{service.name}={as_started(image)}" for service, image in services)
        return [f"test services (started once, those the selected tests use): {images}"]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        if report.failed and item.get_closest_marker("integration") and self._endpoints:
            for name, tail in container_log_tails(self._endpoints.container_ids()).items():
                title = f"{name} container log (last {LOG_TAIL_LINES} lines)"
                report.sections.append((title, tail))
        return report

    def endpoints(self) -> ServiceEndpoints:
        if self._endpoints is None:
            path = self.handoff_dir / ENDPOINTS_FILE
            if not path.exists():
                pytest.fail(
                    "the test services were not started: see the first error of the run, or, "
                    "outside tests/integration/, mark the test `pytest.mark.integration`"
                )
            self._endpoints = ServiceEndpoints.read(path)
        return self._endpoints

    # -- the xdist controller -----------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[HANDOFF_DIR_KEY] = str(self.handoff_dir)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        needed = services_needed_file(self.handoff_dir, node.workerinput["workerid"])
        if not self._decided and needed.exists():
            self._start(json.loads(needed.read_text()))
        self._decided = True

    # -- the process that owns the session ------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start Ryuk while the tests are collected, if the run may need it."""
        ryuk_needed = not (self.reuse or testcontainers_config.ryuk_disabled)
        if not self.is_worker and ryuk_needed and self.may_select_integration_tests():
            self.early_reaper = ReaperStartedEarly()

    def _start(self, used: dict[str, int]) -> None:
        self._decided = True
        began = time.perf_counter()
        workers = len(self.config.getoption("tx", None) or []) or 1
        try:
            if self.early_reaper is not None:
                self.early_reaper.wait()
            services = present_services(compose_images(), only=set(used))
            self.running = start_services(services, workers, reuse=self.reuse)
            self._endpoints = ServiceEndpoints.of_running(self.running)
        except MissingComposeServiceError as error:
            pytest.exit(f"tc-service: {error}", returncode=pytest.ExitCode.INTERRUPTED)
        except StartFailure as failure:
            self._stop()
            log = failure.write_log()
            message = f"tc-service: {failure} (log: {log})"
            pytest.exit(message, returncode=pytest.ExitCode.INTERRUPTED)
        self._endpoints.write(self.handoff_dir / ENDPOINTS_FILE)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            started_in = self.running.started_in_seconds
            timings = ", ".join(
                [f"{name} {seconds:.1f}s" for name, seconds in started_in.items()]
                + [f"{name} reused" for name in self.running.reused]
            )
            ready_in = time.perf_counter() - began
            reporter.write_line(
                f"test services started in session {SESSION_ID} ({timings}; "
                f"ready in {ready_in:.2f}s):"
            )
            reporter.write_line(f"  engine: {engine().describe()}")
            for line in self._endpoints.describe():
                reporter.write_line(f"  {line}")
            counts = ", ".join(f"{name} {count}" for name, count in sorted(used.items()))
            unused = sorted(set(module_names()) - set(used))
            reporter.write_line(f"  selected tests using each: {counts}")
            if unused:
                reporter.write_line(
                    f"  not started (no selected test uses it): {', '.join(unused)}"
                )
            reporter.flush()  # shown now, even when stdout is a pipe and tests take a while

    def _stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_worker:
            if self.early_reaper is not None and self.running is None:
                self.early_reaper.remove()
            self._stop()
            shutil.rmtree(self.handoff_dir, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reuse-containers",
        action="store_true",
        help="keep the test containers running and use them in the next run (or TC_REUSE=1)",
    )
    parser.addoption(
        "--image",
        action="store_true",
        help="also run the tests marked `image`: build the Dockerfile and test the container "
        "(or TC_IMAGE=1)",
    )
    parser.addoption(
        "--clean-reused-containers",
        action="store_true",
        help="remove the containers kept by --reuse-containers, then stop",
    )


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("clean_reused_containers"):
        try:
            removed = remove_project_containers(engine().docker)
        except EngineUnreachableError as error:
            print(f"tc-service: {error}")
            return 1
        print(f"removed {removed} reused test container(s)")
        return 0
    if reuse_requested(config.getoption("reuse_containers")):
        try:
            refuse_on_ci()
        except ReuseRefusedError as error:
            raise pytest.UsageError(str(error)) from None
    return None


class HypothesisSummaryWhenUsed:
    """Hypothesis's pytest plugin imports Hypothesis in every run's terminal summary, whether
    a test used it or not (0.15 s here). A run whose tests were none of them Hypothesis tests
    (under xdist: none in any worker's reports) and which never imported it has nothing for
    that summary to show, so the plugin is dropped before the summary."""

    def __init__(self) -> None:
        self.ran_hypothesis_tests = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "hypothesis" in report.keywords:  # the mark Hypothesis's plugin gives its tests
            self.ran_hypothesis_tests = True

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        hypothesis_plugin = session.config.pluginmanager.get_plugin(HYPOTHESIS_PLUGIN)
        unused = not self.ran_hypothesis_tests and "hypothesis" not in sys.modules
        if hypothesis_plugin is not None and unused:
            session.config.pluginmanager.unregister(hypothesis_plugin)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # What is left is freed as the process exits; the interpreter's last full collection
    # over every object of the app and its libraries would add about half a second to
    # each run, the one-test run included.
    gc.freeze()


def pytest_configure(config: pytest.Config) -> None:
    plugin = ServicesPlugin(config)
    config.pluginmanager.register(plugin, PLUGIN_NAME)
    config.pluginmanager.register(HypothesisSummaryWhenUsed())
    config.stash[ENDPOINTS_PROVIDER] = plugin.endpoints
    use_endpoints_of_run(plugin.endpoints)  # for IntegrationTestCase (tests/support/testcase.py)


# -- fixtures every service module shares ------------------------------------------------


@pytest.fixture(scope="session")
def worker(services: ServiceEndpoints, worker_id: str) -> Worker:
    """This process, as the services' shares name what they create for it."""
    return Worker(services.run_id, worker_id)


@pytest.fixture(scope="session")
@depending_on(*module_names())
def every_service(**endpoints: object) -> None:
    """Depend on this to use every service (an app process of its own, the built image)."""


@pytest.fixture
@depending_on(*(s.settings_fixture for s in loaded_services() if s.settings_fixture))
def integration_settings(**settings: IntegrationSettings | None) -> tuple[IntegrationSettings, ...]:
    """The app's settings for each service it has an integration for: this test's shares."""
    return tuple(found for found in settings.values() if found is not None)
