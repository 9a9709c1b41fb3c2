"""Pytest hooks that give a run its services: started once, by the process owning the session.

Without xdist that is the only pytest process. With xdist it is the controller: workers
never start containers, because a worker's Ryuk session would reap them when that worker
exits, under the other workers' feet. Whether the run needs services is known only after
collection, which under xdist happens in the workers; each worker flags it in a shared
directory, and the controller starts the services when the first worker reports its
collection, before any test is scheduled. Workers read the endpoints from the same directory.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.labels import SESSION_ID

from tests.support.containers import (
    LOG_TAIL_LINES,
    RunningServices,
    StartFailure,
    container_log_tails,
    start_services,
)
from tests.support.endpoints import ENDPOINTS_PROVIDER, ServiceEndpoints, use_endpoints_of_run
from tests.support.engine import EngineUnreachableError, engine
from tests.support.images import as_started, compose_images
from tests.support.reuse import (
    ReuseRefusedError,
    refuse_on_ci,
    remove_project_containers,
    reuse_requested,
)
from tests.support.services import MissingComposeServiceError, present_services

PLUGIN_NAME = "tc-service-services"
HANDOFF_DIR_KEY = "tc_service_handoff_dir"
SERVICES_NEEDED = "services-needed"
ENDPOINTS_FILE = "endpoints.json"
IMAGE_TESTS_SKIPPED = "builds the app's image from the Dockerfile: run with --image"


class ServicesPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.running: RunningServices | None = None
        self._endpoints: ServiceEndpoints | None = None
        self._decided = False
        self.reuse = reuse_requested(config.getoption("reuse_containers"))
        if self.is_worker:
            workerinput: dict[str, Any] = getattr(config, "workerinput")  # noqa: B009
            self.handoff_dir = Path(workerinput[HANDOFF_DIR_KEY])
        else:
            self.handoff_dir = Path(tempfile.mkdtemp(prefix="tc-service-"))

    # -- every process ---------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """A test under tests/integration/ is an integration test, with the mark or without."""
        integration = self.config.rootpath / "tests" / "integration"
        for item in items:
            if item.path.is_relative_to(integration):
                item.add_marker(pytest.mark.integration)
            if item.get_closest_marker("image") and not self.config.getoption("image"):
                item.add_marker(pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            return
        if not any(item.get_closest_marker("integration") for item in session.items):
            return
        if self.is_worker:
            # Written before xdist reports this worker's collection to the controller.
            (self.handoff_dir / SERVICES_NEEDED).touch()
        else:
            self._start()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        try:
            services = present_services(compose_images())
        except MissingComposeServiceError as error:
            return [f"test services: {error}"]
        images = ", ".join(f"{service.name}={as_started(image)}" for service, image in services)
        return [f"test services (started once, only if integration tests run): {images}"]

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
        if not self._decided and (self.handoff_dir / SERVICES_NEEDED).exists():
            self._start()
        self._decided = True

    # -- the process that owns the session ------------------------------------------------

    def _start(self) -> None:
        self._decided = True
        began = time.perf_counter()
        workers = len(self.config.getoption("tx", None) or []) or 1
        try:
            services = present_services(compose_images())
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
            reporter.flush()  # shown now, even when stdout is a pipe and tests take a while

    def _stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_worker:
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
        help="also run the tests marked `image`: build the Dockerfile and test the container",
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


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # What is left is freed as the process exits; the interpreter's last full collection
    # over every object of the app and its libraries would add about half a second to
    # each run, the one-test run included.
    gc.freeze()


def pytest_configure(config: pytest.Config) -> None:
    plugin = ServicesPlugin(config)
    config.pluginmanager.register(plugin, PLUGIN_NAME)
    config.stash[ENDPOINTS_PROVIDER] = plugin.endpoints
    use_endpoints_of_run(plugin.endpoints)  # for IntegrationTestCase (tests/support/testcase.py)
