"""Container reuse between local runs, and dev mode, in a baked project (needs Docker)."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.docker_watch import session_of, wait_until, watch_containers
from tests.helpers import AS_A_BACKGROUND_JOB, Background, bake, pytest_in, run, synced

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

REUSE = "--reuse-containers"
ON_A_LAPTOP = {"CI": ""}  # reuse is for local runs: the generated suite refuses it when CI is set
PROJECT_LABEL = "tc-service.project"
SHARED_STATE_TESTS = (
    "tests/integration/test_users_api.py",
    "tests/integration/test_users_service.py",
    "tests/integration/test_cache.py",
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project of its own (reuse is keyed by the project's directory), cleaned after."""
    project = synced(bake(tmp_path))
    yield project
    cleaned = pytest_in(project, "--clean-reused-containers")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr


def kept_containers(project: Path) -> list[str]:
    """Images of the project's kept containers (the labels reuse puts on them)."""
    client = docker.from_env()
    key_of = run(
        project,
        "uv",
        "run",
        "python",
        "-c",
        "from tests.support.reuse import project_key; print(project_key())",
    )
    key = key_of.stdout.strip()
    return sorted(
        c.attrs["Config"]["Image"]
        for c in client.containers.list(filters={"label": f"{PROJECT_LABEL}={key}"})
    )


def template_of(output: str) -> str:
    line = next(line for line in output.splitlines() if "test databases are cloned from" in line)
    return line.rsplit(" ", 1)[1]


def test_reuse_adopts_then_replaces_what_changed(project: Path) -> None:
    quick = ("-n", "2", "tests/integration/test_health.py")
    first = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
    assert first.returncode == 0, first.stdout + first.stderr

    with watch_containers() as activity:
        second = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "postgres reused, redis reused, kafka reused" in second.stdout
    assert activity.created == []  # no container started for the second run
    assert template_of(second.stdout) == template_of(first.stdout)

    migration = next((project / "migrations" / "versions").glob("*create_users.py"))
    migration.write_text(migration.read_text() + "\n# a change to the migrations\n")
    third = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
    assert third.returncode == 0, third.stdout + third.stderr
    assert template_of(third.stdout) != template_of(second.stdout)  # rebuilt

    postgres_module = project / "tests" / "support" / "services" / "postgres.py"
    postgres_module.write_text(
        postgres_module.read_text().replace('"tests-only"', '"tests-only-changed"')
    )
    with watch_containers() as activity:
        changed = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert list(activity.images(session_of(changed.stdout))) == ["postgres:17.6-alpine"]
    assert "redis reused, kafka reused" in changed.stdout

    init_script = project / "postgres" / "initdb.d" / "10-reporting-role.sql"
    init_script.write_text("CREATE ROLE reporting NOLOGIN;\n")
    with watch_containers() as activity:
        scripted = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
    assert scripted.returncode == 0, scripted.stdout + scripted.stderr
    assert list(activity.images(session_of(scripted.stdout))) == ["postgres:17.6-alpine"]
    assert "redis reused, kafka reused" in scripted.stdout

    images = docker.from_env().images
    images.get("redis:8.2-alpine").tag("redis", "8.2-alpine-reuse-test")
    try:
        compose = project / "compose.yaml"
        compose.write_text(
            compose.read_text().replace("redis:8.2-alpine", "redis:8.2-alpine-reuse-test")
        )
        with watch_containers() as activity:
            fourth = pytest_in(project, REUSE, *quick, env=ON_A_LAPTOP)
        assert fourth.returncode == 0, fourth.stdout + fourth.stderr
        session = session_of(fourth.stdout)
        assert list(activity.images(session)) == ["redis:8.2-alpine-reuse-test"]
        assert "postgres reused" in fourth.stdout
        assert "kafka reused" in fourth.stdout
        assert kept_containers(project) == sorted(
            ["apache/kafka-native:4.1.0", "postgres:17.6-alpine", "redis:8.2-alpine-reuse-test"]
        )
    finally:
        images.remove("redis:8.2-alpine-reuse-test")

    cleaned = pytest_in(project, "--clean-reused-containers")
    assert "removed 3 reused test container(s)" in cleaned.stdout
    assert kept_containers(project) == []


def test_two_reusing_runs_at_once_both_pass(project: Path) -> None:
    """A terminal and an IDE running the suite of one project at the same moment, sharing
    the kept containers: the tests that keep state on the servers (databases, Redis)."""
    warm_up = pytest_in(project, REUSE, "tests/integration/test_health.py", env=ON_A_LAPTOP)
    assert warm_up.returncode == 0, warm_up.stdout + warm_up.stderr

    # Each file several times over, so that the two runs overlap for seconds, not an instant.
    tests = (
        "-p",
        "no:cacheprovider",
        REUSE,
        "-n",
        "2",
        "--keep-duplicates",
        *SHARED_STATE_TESTS * 4,
    )
    runs = [Background(project, "uv", "run", "pytest", *tests, env=ON_A_LAPTOP) for _ in "ab"]
    outputs = [run_.output() for run_ in runs]

    for returncode, output in outputs:
        assert returncode == 0, output
        assert "postgres reused, redis reused, kafka reused" in output
        assert re.search(r"^=+ \d+ passed", output, re.MULTILINE), output


def test_reuse_is_refused_on_ci(project: Path) -> None:
    for how in ([REUSE], []):
        env = {"CI": "true", **({} if how else {"TC_REUSE": "1"})}
        refused = pytest_in(project, *how, "tests/unit", env=env)
        assert refused.returncode == pytest.ExitCode.USAGE_ERROR
        assert "container reuse is refused when CI is set" in refused.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    method: str, url: str, body: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_dev_mode_serves_the_app_and_ctrl_c_removes_everything(project: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (project / "postgres" / "initdb.d" / "10-reporting-role.sql").write_text(
        "CREATE ROLE reporting NOLOGIN;\n"
    )
    with watch_containers() as activity:
        dev = Background(
            project,
            *AS_A_BACKGROUND_JOB,
            *("uv", "run", "python", "-m", "tests.support.dev", "--port", str(port)),
        )
        try:
            line = dev.wait_for_line("dev mode ready in session")
            session = line.split("session ")[1].rstrip(":\n")

            def ready() -> bool:
                try:
                    return http("GET", f"{base}/health/ready")[0] == 200
                except (urllib.error.URLError, ConnectionError):
                    return False

            assert wait_until(ready, seconds=60)
            status, user = http(
                "POST", f"{base}/users", {"email": "dev@example.com", "full_name": "Dev"}
            )
            assert (status, user["email"]) == (201, "dev@example.com")
            [postgres] = docker.from_env().containers.list(
                filters={
                    "label": f"org.testcontainers.session-id={session}",
                    "ancestor": "postgres:17.6-alpine",
                }
            )
            role = postgres.exec_run(
                [
                    "psql",
                    "-U",
                    "postgres",
                    "-tAc",
                    "SELECT 1 FROM pg_roles WHERE rolname = 'reporting'",
                ]
            )
            assert role.output.decode().strip() == "1"  # the init script ran in dev mode too
        finally:
            returncode, output = dev.interrupt()

    assert returncode == 0, output
    assert len(activity.of_session(session)) == 4  # postgres, redis, kafka and Ryuk
    assert wait_until(lambda: not activity.still_present(session), seconds=30)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
