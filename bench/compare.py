"""Our conftest against the guides' on the same generated tests: the project copy with the
guides' conftest, and one measured pytest run (wall time, containers, their peak memory)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker

from tests.docker_watch import watch_containers
from tests.helpers import run, synced

BENCH_DIR = Path(__file__).resolve().parent
PASSED = re.compile(r"(\d+) passed")

# The generated tests both conftests can run: the guides' pattern has no fixtures for the
# Kafka topics and the outbox (tests/support/services/kafka.py), nor the reuse and dev
# machinery; these need PostgreSQL and Redis, and the app starts its Kafka clients.
COMPARED_TESTS = [
    "tests/integration/test_users_api.py",
    "tests/integration/test_users_service.py",
    "tests/integration/test_cache.py",
]


def guides_project(project: Path) -> Path:
    """The same project and tests, with the guides' conftest.py (bench/project)."""
    guides = project.with_name(f"{project.name}-guides")
    shutil.copytree(project, guides, ignore=shutil.ignore_patterns(".venv"))
    shutil.copy(BENCH_DIR / "project" / "guides_conftest.py", guides / "tests" / "conftest.py")
    return synced(guides)


def container_memory_bytes(client: docker.DockerClient, container_id: str) -> int:
    """Memory a container uses as `docker stats` counts it (without inactive file cache):
    read from its cgroup where this machine exposes it (cheap enough to sample often),
    else from the engine's stats."""
    for directory, usage, inactive in (
        (
            f"/sys/fs/cgroup/memory/docker/{container_id}",
            "memory.usage_in_bytes",
            "total_inactive_file",
        ),
        (
            f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope",
            "memory.current",
            "inactive_file",
        ),
    ):
        try:
            used = int(Path(directory, usage).read_text())
            stat = dict(
                line.split() for line in Path(directory, "memory.stat").read_text().splitlines()
            )
            return used - int(stat.get(inactive, 0))
        except OSError:
            continue
    memory = client.containers.get(container_id).stats(stream=False, one_shot=True)["memory_stats"]
    return int(memory.get("usage", 0) - memory.get("stats", {}).get("inactive_file", 0))


@contextmanager
def peak_memory_of_session(holder: dict[str, Any]) -> Iterator[None]:
    """Sample the memory of every Testcontainers container together, every 0.25 s."""
    stop = threading.Event()
    holder["peak_mib"] = 0.0
    client = docker.from_env()

    def sample() -> None:
        while not stop.wait(0.25):
            labelled = {"label": "org.testcontainers.lang=python"}
            total = 0
            for container in client.api.containers(filters=labelled):
                try:
                    total += container_memory_bytes(client, container["Id"])
                except (docker.errors.DockerException, ValueError, KeyError):
                    continue  # removed while sampled
            holder["peak_mib"] = max(holder["peak_mib"], total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def one_run(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, float]:
    """Wall time, tests passed, containers created (Ryuk apart) and their peak memory, for
    one pytest run."""
    memory: dict[str, Any] = {}
    with watch_containers() as activity, peak_memory_of_session(memory):
        started = time.perf_counter()
        result = run(
            project,
            *("uv", "run", "pytest", "-p", "no:cacheprovider", "-q", *args),
            env=env,
            timeout=timeout,
        )
        wall = time.perf_counter() - started
    passed = PASSED.search(result.stdout)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert passed, output
    images = [image for _, image, _ in activity.created]
    return {
        "wall_s": wall,
        "tests": int(passed.group(1)),
        "containers": sum("ryuk" not in image for image in images),
        "reapers": sum("ryuk" in image for image in images),
        "peak_memory_mib": memory["peak_mib"],
    }
