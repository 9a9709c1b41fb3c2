"""The generated suite beyond Docker on the host: on Podman, in a CI job container on the
host network, and, when its services cannot start, one line that says why."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.docker_watch import session_of, wait_until, watch_containers
from tests.helpers import (
    WITHOUT_FAULT_TESTS,
    compose_image_of,
    matrix_id,
    project_images,
    pytest_in,
    synced,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

# Where ../shared/offline-images/provide --podman serves Podman's Docker-compatible API.
PODMAN = "unix:///run/podman/podman.sock"
SUMMARY = re.compile(r"^=*\s*(\d+) passed", re.MULTILINE)
FAILURE_LOG = re.compile(r"\(log: (\S+tc-service-([0-9a-f-]{36})\.log)\)")


def docker_hub_short_name(image: str) -> str:
    """`postgres:17` for Podman's `docker.io/library/postgres:17`."""
    return image.removeprefix("docker.io/").removeprefix("library/")


@pytest.fixture
def no_testcontainers_settings() -> None:
    """These runs prove what the suite chooses by itself."""
    assert not [name for name in os.environ if name.startswith(("TESTCONTAINERS_", "TC_"))]


@pytest.mark.usefixtures("no_testcontainers_settings")
def test_the_suite_runs_on_podman_with_only_docker_host_set(
    bake_once: Callable[..., Path],
) -> None:
    if not Path(PODMAN.removeprefix("unix://")).exists():
        pytest.fail(f"no Podman API at {PODMAN}: run ../shared/offline-images/provide --podman")
    project = synced(bake_once(matrix_id({})))

    with watch_containers(PODMAN) as activity:
        result = pytest_in(project, "-n", "2", *WITHOUT_FAULT_TESTS, env={"DOCKER_HOST": PODMAN})

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    assert re.search(r"engine: Podman Engine \S+ at unix:///run/podman/podman.sock", output)
    session = session_of(result.stdout)
    started = Counter(docker_hub_short_name(image) for image in activity.images(session).elements())
    assert started == Counter(project_images(project))  # one each, and Ryuk
    assert wait_until(lambda: not activity.still_present(session), seconds=30)


@pytest.mark.usefixtures("no_testcontainers_settings")
def test_the_suite_runs_in_a_job_container_on_the_host_network(
    bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    """As self-hosted runners and act run jobs: in the CI file's job image, on the host
    network, with the engine's socket mounted."""
    bake = bake_once(matrix_id({}))
    project = tmp_path / bake.name
    shutil.copytree(bake, project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    job_image = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["default"]["image"]
    uv = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uv"]
    uv_cache = Path.home() / ".cache" / "uv"
    script = (
        f"pip install --quiet 'uv{uv['required-version']}' && uv sync --quiet --locked "
        f"&& uv run pytest -n 2 -p no:cacheprovider {shlex.join(WITHOUT_FAULT_TESTS)}"
    )

    job = [
        *("docker", "run", "--rm", "--network", "host"),
        *("--volume", "/var/run/docker.sock:/var/run/docker.sock"),
        *("--volume", f"{project}:{project}", "--workdir", str(project)),
        *("--volume", f"{uv_cache}:/root/.cache/uv"),
        *("--env", "UV_LINK_MODE=copy", "--env", "UV_PYTHON_DOWNLOADS=never"),
        *("--env", "PIP_ROOT_USER_ACTION=ignore", "--env", "PIP_DISABLE_PIP_VERSION_CHECK=1"),
        *(job_image, "sh", "-c", script),
    ]

    with watch_containers() as activity:
        result = subprocess.run(
            job,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SUMMARY.search(result.stdout), output
    assert "docker_host (this container runs on the host network)" in output
    session = session_of(result.stdout)
    assert activity.images(session) == Counter(project_images(project))
    assert wait_until(lambda: not activity.still_present(session), seconds=20)


def test_a_reaper_that_never_answers_ends_the_run_in_one_line_and_leaves_nothing(
    bake_once: Callable[..., Path],
) -> None:
    """Ryuk's image replaced by one that starts but never listens (Redis): the reaper's
    setup fails after its container started."""
    project = synced(bake_once(matrix_id({})))
    not_a_reaper = compose_image_of(project)["redis"]

    with watch_containers() as activity:
        result = pytest_in(
            project, "-n", "2", "tests/integration", env={"RYUK_CONTAINER_IMAGE": not_a_reaper}
        )

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    [line] = [line for line in output.splitlines() if "tc-service:" in line]
    assert "starting the reaper (Ryuk) failed: ConnectionRefusedError" in line, output
    assert "TESTCONTAINERS_RYUK_DISABLED=true" in line
    assert "Traceback" not in output
    log = FAILURE_LOG.search(line)
    assert log, line
    assert "Traceback" in Path(log.group(1)).read_text()
    session = log.group(2)
    assert activity.images(session) == Counter([not_a_reaper])  # it did start
    assert activity.still_present(session) == []  # and is gone when the run ends
