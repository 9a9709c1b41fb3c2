"""Bake projects and run their own suites against real containers (needs Docker)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import docker
import pytest
import yaml

from bench.compare import COMPARED_TESTS, guides_project
from tests.docker_watch import session_of, wait_until, watch_containers
from tests.helpers import (
    SUITE_BAKES,
    WITHOUT_FAULT_TESTS,
    Background,
    bake,
    compose_image_of,
    is_stand_in,
    matrix_id,
    project_images,
    pytest_in,
    run,
    synced,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

# Every suite bake with -n 2, and the minimal one in a single process too: there the process
# that starts the services also runs the tests, whichever services they are, and the bakes'
# other differences are covered with -n 2 (the template's CI has a time budget).
SUITE_RUNS = [
    pytest.param(overrides, workers, id=f"{matrix_id(overrides)}-{label}")
    for overrides in SUITE_BAKES
    for workers, label in (("2", "-n 2"), ("0", "single process"))
    if workers == "2" or overrides == SUITE_BAKES[1]
]
# What each suite run gets besides its own tests: an init script, and a plugin recording
# what each process that runs integration tests finds in its worker's database.
INIT_SCRIPT = "CREATE ROLE reporting NOLOGIN;\n"
PER_WORKER_PROBE = """
import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url


@pytest.fixture(autouse=True)
def record_the_workers_database(request):
    if request.node.get_closest_marker("integration"):
        url = make_url(request.getfixturevalue("worker_database_url"))
        with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as db:
            roles = [row[0] for row in db.execute("SELECT rolname FROM pg_roles")]
            extensions = [row[0] for row in db.execute("SELECT extname FROM pg_extension")]
        worker = getattr(request.config, "workerinput", {}).get("workerid", "master")
        Path(os.environ["PER_WORKER_DIR"], worker).write_text(" ".join(roles + extensions))
"""
EXTENSIONS = {"pgvector/pgvector": "vector", "postgis/postgis": "postgis"}
SUMMARY = re.compile(r"^=*\s*(\d+) passed", re.MULTILINE)
NO_DOCKER = {"DOCKER_HOST": "tcp://127.0.0.1:9"}  # nothing listens there


def pytest_with_probe(
    project: Path, probe: str, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The project's suite run with `probe` (a plugin's source) loaded as a plugin; the probe's
    file is removed after."""
    (project / "suite_probe.py").write_text(probe)
    try:
        return pytest_in(project, "-p", "suite_probe", *args, env={"PYTHONPATH": ".", **env})
    finally:
        (project / "suite_probe.py").unlink()


def compose_images(project: Path) -> set[str]:
    return set(compose_image_of(project).values())


@pytest.mark.parametrize(("overrides", "workers"), SUITE_RUNS)
def test_generated_suite_passes_with_one_container_per_service(
    overrides: dict[str, str], workers: str, bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    project = synced(bake_once(matrix_id(overrides), **overrides))
    init_script = project / "postgres" / "initdb.d" / "10-reporting-role.sql"
    init_script.write_text(INIT_SCRIPT)
    per_worker = tmp_path / "per-worker"
    per_worker.mkdir()
    env = {"PER_WORKER_DIR": str(per_worker)}
    try:
        with watch_containers() as activity:
            faults = () if not overrides else WITHOUT_FAULT_TESTS
            result = pytest_with_probe(project, PER_WORKER_PROBE, "-n", workers, *faults, env=env)
    finally:
        init_script.unlink()

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    recorded = {path.name: set(path.read_text().split()) for path in per_worker.iterdir()}
    assert set(recorded) == ({"gw0", "gw1"} if workers == "2" else {"master"})
    extension = EXTENSIONS.get(overrides.get("postgres_image", ""))
    for found in recorded.values():  # the init script's role; the migration's extension
        assert "reporting" in found
        assert extension is None or extension in found
    session = session_of(result.stdout)
    assert activity.images(session) == Counter(project_images(project))  # one each, and Ryuk
    assert wait_until(lambda: not activity.still_present(session), seconds=20)
    assert "test_image.py: builds the app's image from the Dockerfile: run with --image" in output


IMAGE_BAKES = [SUITE_BAKES[3], SUITE_BAKES[4]]  # object storage: LocalStack, MinIO (+ PostGIS)


@pytest.mark.parametrize("overrides", IMAGE_BAKES, ids=matrix_id)
def test_the_built_image_serves_beside_the_runs_services(
    overrides: dict[str, str], bake_once: Callable[..., Path]
) -> None:
    project = synced(bake_once(matrix_id(overrides), **overrides))
    images = compose_image_of(project)
    deselect = []
    if "kafka" in images and is_stand_in(images["kafka"]):
        # The stand-in broker has one listener (../shared/offline-images/README.md); real
        # images serve containers on their network on a listener of its own.
        kafka_check = "test_the_image_reaches_each_service_it_is_configured_for[kafka]"
        deselect = ["--deselect", f"tests/integration/test_image.py::{kafka_check}"]

    with watch_containers() as activity:
        result = pytest_in(project, "-n", "2", "--image", "-m", "image", *deselect)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    checks = len(images) - len(deselect) // 2  # one per service, kafka's left out here
    assert re.search(rf"^=* {3 + checks} passed", result.stdout, re.MULTILINE), output
    session = session_of(result.stdout)
    started = activity.images(session)
    app_image = f"{project.name}:under-test"
    # One per worker serving the image's tests, and the one that refuses placeholder secrets.
    assert 2 <= started.pop(app_image) <= 3
    assert started == Counter(project_images(project))  # and still one Ryuk
    assert wait_until(lambda: not activity.still_present(session), seconds=20)


IMAGES_MODULE = ("uv", "run", "python", "-m", "tests.support.images")
# The read-write side of ../shared/offline-images' registry mirror (`provide --mirror`).
LOCAL_REGISTRY = "127.0.0.1:5000"


@contextmanager
def behind_a_mirror(images: list[str], prefix: str) -> Iterator[None]:
    """`images` in the local registry under `prefix`, as a company mirror holds them, and
    not in the engine, so that using them means pulling them."""
    try:
        urllib.request.urlopen(f"http://{LOCAL_REGISTRY}/v2/", timeout=5).close()
    except OSError as error:
        pytest.fail(f"no registry at {LOCAL_REGISTRY} ({error}): run provide --mirror first")
    engine = docker.from_env()
    for image in images:
        engine.images.get(image).tag(prefix + image)
        engine.images.push(prefix + image)
        engine.images.remove(prefix + image)
    try:
        yield
    finally:
        for image in images:
            with suppress(docker.errors.ImageNotFound):
                engine.images.remove(prefix + image)


def test_behind_a_registry_mirror_ci_pulls_exactly_the_images_the_suite_starts(
    bake_once: Callable[..., Path],
) -> None:
    """TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX puts a mirror in front of every image the suite
    starts; the pre-pull, the report header and the started containers name the same images."""
    project = synced(bake_once(matrix_id({})))
    images = project_images(project)
    prefix = f"{LOCAL_REGISTRY}/hub/"
    mirror = {"TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX": prefix}

    with behind_a_mirror(images, prefix):
        pulled = run(project, *IMAGES_MODULE, "pull", env=mirror)
        with watch_containers() as activity:
            result = pytest_in(project, "-n", "2", "tests/integration/test_health.py", env=mirror)

    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert sorted(re.findall(r"^pulled +(\S+)", pulled.stdout, re.MULTILINE)) == sorted(
        prefix + image for image in images
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    header = re.search(r"^test services \(started once.*$", result.stdout, re.MULTILINE)
    assert header, output
    compose = compose_image_of(project)
    for name in ("postgres", "redis", "kafka"):
        assert f"{name}={prefix}{compose[name]}" in header.group(), header.group()
    session = session_of(result.stdout)
    assert activity.images(session) == Counter(prefix + image for image in images)
    assert wait_until(lambda: not activity.still_present(session), seconds=20)


def test_the_benchmarks_guides_conftest_runs_the_tests_it_is_compared_on(
    bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    """`python -m bench` runs the same generated tests under the guides' conftest: a test
    that comes to need a fixture only ours has would break the comparison, not this suite."""
    project = synced(bake_once(matrix_id({})))
    copy = tmp_path / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".venv"))

    result = pytest_in(guides_project(copy), "-n", "2", *COMPARED_TESTS)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_compose_service_without_a_module_is_left_alone(tmp_path: Path) -> None:
    """Users add services of their own to compose.yaml (local mail, say): the suite neither
    starts, describes nor pre-pulls what it has no module for."""
    project = synced(bake(tmp_path))
    with (project / "compose.yaml").open("a") as compose:
        compose.write("\n  mailpit:\n    image: axllent/mailpit:v1.20\n")
    assert "mailpit" in yaml.safe_load((project / "compose.yaml").read_text())["services"]

    with watch_containers() as activity:
        result = pytest_in(project, "-n", "2", "tests/integration/test_health.py")
    pulled = run(project, "uv", "run", "python", "-m", "tests.support.images", "pull")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    assert "mailpit" not in output
    images = project_images(project)
    assert "axllent/mailpit:v1.20" not in images
    assert activity.images(session_of(result.stdout)) == Counter(images)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "mailpit" not in pulled.stdout + pulled.stderr


def test_a_run_starts_only_the_services_its_tests_use(bake_once: Callable[..., Path]) -> None:
    project = synced(bake_once(matrix_id({})))
    images = compose_image_of(project)

    with watch_containers() as activity:
        result = pytest_in(project, "-n", "2", "tests/integration/test_users_service.py")

    assert result.returncode == 0, result.stdout + result.stderr
    session = session_of(result.stdout)
    ryuk = next(image for image in project_images(project) if "ryuk" in image)
    assert activity.images(session) == Counter([images["postgres"], ryuk])
    assert "not started (no selected test uses it): kafka, redis" in result.stdout


@pytest.mark.parametrize(
    "selection", [("-m", "not integration"), ("tests/unit",)], ids=["by mark", "by path"]
)
def test_unit_only_run_starts_no_container(
    bake_once: Callable[..., Path], selection: tuple[str, ...]
) -> None:
    project = synced(bake_once(matrix_id({})))

    with watch_containers() as activity:
        result = pytest_in(project, "-n", "2", *selection)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "test services started" not in result.stdout
    assert activity.created == []


# Run as a plugin of the generated suite: is the run's Ryuk up when its collection ends
# (waiting for it up to 20 s), and still there once the suite's plugin is done, before the
# process exits (when Testcontainers stops it anyway)?
REAPER_PROBE = """
import os
import time
from pathlib import Path

import docker
import docker.errors
import pytest
from testcontainers.core.labels import SESSION_ID


def reaper_state(wait_seconds):
    client = docker.from_env()
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            client.containers.get(f"testcontainers-ryuk-{SESSION_ID}")
            return "running"
        except docker.errors.NotFound:
            if time.monotonic() > deadline:
                return "absent"
            time.sleep(0.1)


def record(moment, state):
    with Path(os.environ["REAPER_PROBE_FILE"]).open("a") as probe:
        probe.write(f"{moment}: {state}\\n")


def pytest_collection_modifyitems(items):
    record("collected", reaper_state(wait_seconds=20))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    record("unconfigured", reaper_state(wait_seconds=0))
"""


def reaper_probed_run(
    project: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The run, and the reaper's state at each moment the probe looked."""
    probe_file = project / "reaper_probe.txt"
    try:
        env = {"REAPER_PROBE_FILE": str(probe_file)}
        result = pytest_with_probe(project, REAPER_PROBE, *args, env=env)
        states = dict(line.split(": ") for line in probe_file.read_text().splitlines())
    finally:
        probe_file.unlink(missing_ok=True)
    return result, states


def test_the_reaper_starts_while_the_tests_are_collected_and_serves_the_run(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))

    with watch_containers() as activity:
        result, states = reaper_probed_run(project, "tests/integration/test_health.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert states == {"collected": "running", "unconfigured": "absent"}
    reapers = [
        attributes
        for _, _, attributes in activity.created
        if attributes.get("name", "").startswith("testcontainers-ryuk-")
    ]
    assert len(reapers) == 1  # the one started early is the run's


def test_a_run_that_selects_no_integration_test_after_all_removes_its_reaper(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))

    result, states = reaper_probed_run(project, "tests/integration", "-k", "no_test_is_so_named")

    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout + result.stderr
    assert states == {"collected": "running", "unconfigured": "absent"}


IMPORTED_PROBE = """
import os
import sys
from pathlib import Path


def pytest_unconfigure(config):
    process = getattr(config, "workerinput", {}).get("workerid", "controller")
    packages = {name.split(".")[0] for name in sys.modules}
    (Path(os.environ["IMPORTED_DIR"]) / process).write_text(" ".join(sorted(packages)))
"""


def top_level_imports(project: Path, directory: Path, *args: str) -> dict[str, set[str]]:
    """The packages each process of a run of the project's suite had imported at its end."""
    directory.mkdir()
    result = pytest_with_probe(project, IMPORTED_PROBE, *args, env={"IMPORTED_DIR": str(directory)})
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.name: set(path.read_text().split()) for path in directory.iterdir()}


ALEMBIC_COMMAND_TEST = (
    "tests/unit/test_settings.py::"
    "test_an_entry_point_refuses_a_bad_database_url_without_showing_it[alembic upgrade head]"
)


def test_a_run_imports_the_migration_and_test_tools_only_where_they_are_used(
    bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    """Alembic runs once per run, where the template database is built: xdist workers never
    import it, and a unit-only run only for the one test of Alembic's own command (it runs
    it, in process). A unit-only run does not import the integration tests either, nor the
    contract test's schemathesis; no run without a Hypothesis test imports Hypothesis (its
    pytest plugin would, for its terminal summary)."""
    project = synced(bake_once(matrix_id({})))

    unit_only = top_level_imports(
        project, tmp_path / "unit", "-m", "not integration", "--deselect", ALEMBIC_COMMAND_TEST
    )
    one_api_test = top_level_imports(
        project, tmp_path / "api", "-n", "1", "tests/integration/test_users_api.py"
    )

    assert "alembic" not in unit_only["controller"]
    assert "schemathesis" not in unit_only["controller"]
    assert "alembic" in one_api_test["controller"]
    assert "alembic" not in one_api_test["gw0"]
    for process in (unit_only["controller"], *one_api_test.values()):
        assert "hypothesis" not in process


FAILING_HYPOTHESIS_TEST = """
from hypothesis import given, strategies


@given(strategies.integers())
def test_every_integer_is_small(number: int) -> None:
    assert number < 10
"""


def test_a_run_with_a_hypothesis_test_keeps_its_summary(bake_once: Callable[..., Path]) -> None:
    """Under xdist the controller imports no test, yet the failing example its worker's
    Hypothesis test reports still comes back as a patch to apply (which needs libcst)."""
    project = synced(bake_once(matrix_id({})))
    module = project / "tests" / "unit" / "test_with_hypothesis.py"
    module.write_text(FAILING_HYPOTHESIS_TEST)
    try:
        result = run(
            project,
            *("uv", "run", "--with", "libcst", "pytest", "-p", "no:cacheprovider"),
            *("-n", "1", str(module)),
        )
    finally:
        module.unlink()
        shutil.rmtree(project / ".hypothesis" / "patches", ignore_errors=True)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "assert 10 < 10" in result.stdout
    assert re.search(r"`git apply \S+\.patch` to add failing test cases", result.stdout)


@pytest.mark.parametrize("workers", ["2", "0"], ids=["-n 2", "single process"])
def test_unreachable_docker_is_one_clear_error(
    workers: str, bake_once: Callable[..., Path]
) -> None:
    project = synced(bake_once(matrix_id({})))

    result = pytest_in(project, "-n", workers, env=NO_DOCKER)

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    [line] = [line for line in output.splitlines() if "tc-service:" in line]
    assert "connecting to the container engine at tcp://127.0.0.1:9 failed: " in line, output
    assert "DockerException" in line
    assert "DOCKER_HOST" in line
    assert "Traceback" not in output


@contextmanager
def temporary_module(project: Path, name: str, source: str) -> Iterator[str]:
    """tests/integration/<name> in the project while the block runs; yields its path."""
    module = project / "tests" / "integration" / name
    module.write_text(source)
    try:
        yield str(module.relative_to(project))
    finally:
        module.unlink()


def integration_test_in(project: Path, signature: str, body: str) -> AbstractContextManager[str]:
    """A one-test integration module in the project while the block runs; yields its path."""
    return temporary_module(
        project,
        "test_temporary.py",
        "import pytest\n\npytestmark = pytest.mark.integration\n\n\n"
        f"{signature}(db_session: object) -> None:\n    {body}\n",
    )


def test_a_test_under_tests_integration_is_an_integration_test_without_a_mark(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))
    unmarked = "async def test_unmarked(db_session: object) -> None:\n    assert db_session\n"
    with temporary_module(project, "test_unmarked.py", unmarked) as module:
        ran = pytest_in(project, module)
        without_docker = pytest_in(project, "-m", "not integration", module)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
    assert "1 deselected" in without_docker.stdout, without_docker.stdout


UNITTEST = ("uv", "run", "python", "-m", "unittest")
TESTCASE_MODULE = "tests/integration/test_users_testcase.py"


def unittest_outcome(stderr: str, test: str) -> str:
    """What `unittest -v` printed last for `test`: its line runs until the next test's or the
    summary's, with what the test logged in between ("ok" may stand on a line of its own)."""
    match = re.search(rf"^{test} \(.*?(?=^test_|^-{{20}})", stderr, re.MULTILINE | re.DOTALL)
    assert match, stderr
    return match.group().rstrip().rsplit(maxsplit=1)[-1]


ROLE_TESTCASE = (
    "from sqlalchemy import text\n\n"
    "from tests.support.testcase import IntegrationTestCase\n\n\n"
    "class RoleTest(IntegrationTestCase):\n"
    "    async def test_the_init_scripts_role_exists(self) -> None:\n"
    "        found = await self.session.scalar(\n"
    "            text(\"SELECT 1 FROM pg_roles WHERE rolname = 'reporting'\")\n"
    "        )\n"
    "        self.assertEqual(found, 1)\n"
)


def test_testcases_run_under_unittest_with_one_container_per_service(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))
    init_script = project / "postgres" / "initdb.d" / "10-reporting-role.sql"
    init_script.write_text(INIT_SCRIPT)
    try:
        with (
            temporary_module(project, "test_temporary_role_testcase.py", ROLE_TESTCASE),
            watch_containers() as activity,
        ):
            result = run(project, *UNITTEST, "discover", "-v", "-s", "tests", "-t", ".")
    finally:
        init_script.unlink()

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert unittest_outcome(result.stderr, "test_the_init_scripts_role_exists") == "ok", output
    assert re.search(r"^Ran [1-9]\d* tests? in", result.stderr, re.MULTILINE), output
    assert re.search(r"^OK$", result.stderr, re.MULTILINE), output
    session = session_of(result.stderr)
    assert activity.images(session) == Counter(project_images(project))
    assert wait_until(lambda: not activity.still_present(session), seconds=20)


def test_testcases_under_pytest_share_the_runs_containers(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))

    with watch_containers() as activity:
        result = pytest_in(project, "-n", "2", TESTCASE_MODULE)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    assert activity.images(session_of(result.stdout)) == Counter(project_images(project))


FAILING_TESTCASE = (
    "from tests.support.testcase import IntegrationTestCase\n\n\n"
    "class FailingTest(IntegrationTestCase):\n"
    "    async def test_fails(self) -> None:\n"
    "        self.assertEqual(1, 2)\n"
)


def test_a_failing_testcase_reports_the_container_logs_under_both_runners(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))
    with temporary_module(project, "test_temporary_testcase.py", FAILING_TESTCASE) as failing:
        under_unittest = run(project, *UNITTEST, failing.removesuffix(".py").replace("/", "."))
        under_pytest = pytest_in(project, failing)

    assert under_unittest.returncode == 1
    assert under_pytest.returncode == 1
    for output in (under_unittest.stderr, under_pytest.stdout):
        for service in ("postgres", "redis", "kafka"):
            assert f"{service} container log (last 40 lines)" in output, output
        assert "database system is ready to accept connections" in output


def test_a_failing_test_reports_the_container_logs(bake_once: Callable[..., Path]) -> None:
    """The logs of the containers the run started: the failing test uses PostgreSQL alone,
    so Redis and Kafka were not started and have none."""
    project = synced(bake_once(matrix_id({})))
    with integration_test_in(project, "async def test_fails", "assert False") as failing:
        result = pytest_in(project, failing)

    assert result.returncode == 1
    assert "postgres container log (last 40 lines)" in result.stdout
    assert "database system is ready to accept connections" in result.stdout
    for service in ("redis", "kafka"):
        assert f"{service} container log" not in result.stdout


def test_report_header_names_each_service_and_address(bake_once: Callable[..., Path]) -> None:
    project = synced(bake_once(matrix_id({})))

    result = pytest_in(project, "tests/integration/test_health.py")

    assert result.returncode == 0, result.stdout
    for image in compose_images(project):
        assert re.search(rf"^  \w+: {re.escape(image)} at \S+:\d+", result.stdout, re.MULTILINE)


def test_pre_pull_succeeds_for_present_images_and_fails_clearly_otherwise(
    bake_once: Callable[..., Path],
) -> None:
    project = synced(bake_once(matrix_id({})))

    present = run(project, "uv", "run", "python", "-m", "tests.support.images", "pull")
    missing = run(
        project,
        "uv",
        "run",
        "python",
        "-m",
        "tests.support.images",
        "pull",
        "registry.invalid/tc-service/absent:1",
    )

    assert present.returncode == 0, present.stderr
    pulled = {line.split()[1] for line in present.stdout.splitlines()}
    [reaper] = pulled - compose_images(project)
    assert compose_images(project) <= pulled
    assert reaper.startswith("testcontainers/ryuk:")
    assert missing.returncode == 1
    assert "FAILED  registry.invalid/tc-service/absent:1" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_killed_run_leaves_no_container_behind(bake_once: Callable[..., Path]) -> None:
    project = synced(bake_once(matrix_id({})))
    with (
        integration_test_in(project, "def test_hangs", "__import__('time').sleep(300)"),
        watch_containers() as activity,
    ):
        suite = Background(
            project,
            "uv",
            "run",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "tests/integration",
        )
        session = session_of(suite.wait_for_line("test services started"))
        # No teardown, no atexit: only Ryuk can clean up after SIGKILL.
        os.killpg(suite.process.pid, signal.SIGKILL)
        suite.process.wait(timeout=30)

    assert activity.images(session) == Counter(project_images(project))
    # Ryuk reaps once its client has been gone for RYUK_RECONNECTION_TIMEOUT (10 s).
    assert wait_until(lambda: not activity.still_present(session), seconds=60)


ORDERS_MODEL = """from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from acme_users.db import Base


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
"""


def test_the_readme_steps_for_a_new_model_give_a_migration_the_suite_accepts(
    tmp_path: Path,
) -> None:
    """README "Adding a model and its migration", as a newcomer follows it."""
    project = synced(bake(tmp_path))
    package = project / "src" / "acme_users"
    (package / "orders").mkdir()
    (package / "orders" / "__init__.py").write_text("")
    (package / "orders" / "models.py").write_text(ORDERS_MODEL)
    models = package / "models.py"
    models.write_text(models.read_text() + "from acme_users.orders.models import Order  # noqa\n")
    before = set((project / "migrations" / "versions").iterdir())

    with watch_containers() as activity:
        generated = run(project, "uv", "run", "python", "-m", "tests.support.revision", "orders")

    assert generated.returncode == 0, generated.stdout + generated.stderr
    throwaway = [cid for cid, image, _ in activity.created if image.startswith("postgres:")]
    assert len(throwaway) == 1
    assert not docker.from_env().containers.list(all=True, filters={"id": throwaway[0]})
    [revision] = set((project / "migrations" / "versions").iterdir()) - before
    assert 'op.create_table(\n        "orders"' in revision.read_text()
    assert 'revision: str = "0004"' in revision.read_text()  # numbered on, after 0003
    assert re.fullmatch(r"\d{4}_\d\d_\d\d_\d{4}-0004_orders\.py", revision.name), revision.name
    checked = pytest_in(project, "tests/integration/test_migrations.py")
    assert checked.returncode == 0, checked.stdout
