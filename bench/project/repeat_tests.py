"""Every selected test BENCH_COPIES times, by parametrization: the suite as it grows (bench
only; loaded with -p repeat_tests)."""

import os

import pytest

COPIES = int(os.environ.get("BENCH_COPIES", "1"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if COPIES > 1:
        metafunc.fixturenames.append("bench_copy")
        metafunc.parametrize("bench_copy", range(COPIES), ids=lambda copy: f"copy{copy}")
