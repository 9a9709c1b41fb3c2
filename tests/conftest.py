from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import bake

collect_ignore = ["snapshots", "guides_project"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshot",
        action="store_true",
        help="rewrite tests/snapshots/default from a fresh bake of the defaults",
    )


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bakes shared by the tests of one process, keyed by matrix id."""
    return {}


@pytest.fixture
def bake_once(
    baked: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    def bake_cached(matrix_key: str, **overrides: str) -> Path:
        if matrix_key not in baked:
            baked[matrix_key] = bake(tmp_path_factory.mktemp("bake"), **overrides)
        return baked[matrix_key]

    return bake_cached


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for every bake of the run, across xdist workers: mypy re-checks each
    file whose hash differs from the cached one, so every bake is still checked whole while
    the libraries are analysed once (32 s a bake without it, 10 s with it)."""
    return tmp_path_factory.getbasetemp().parent / "mypy-cache"


@pytest.fixture
def docker_to_ourselves(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run one Docker-using test at a time across xdist workers: the container counts read
    Docker's events by time window, so two generated suites must not run at once."""
    lock_path = tmp_path_factory.getbasetemp().parent / "docker.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
