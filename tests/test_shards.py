"""Sharding the generated suite across CI runners (ci_shards): pytest-split cuts it into parts
that together are the suite, by the committed test times."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.helpers import matrix_id, pytest_in, synced

SHARDED = {"ci_shards": "2"}
ESTIMATE = re.compile(r"Running group \d+/\d+ \(estimated duration: ([\d.]+)s\)")


def collected(project: Path, *args: str) -> tuple[Counter[str], str]:
    """The test ids a run with `args` would run (one per item: ids may repeat), and its
    output."""
    result = pytest_in(project, "--collect-only", "-q", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    ids = Counter(line for line in result.stdout.splitlines() if "::" in line)
    return ids, result.stdout


def test_the_shards_partition_the_suite(bake_once: Callable[..., Path]) -> None:
    project = synced(bake_once(matrix_id(SHARDED), **SHARDED))
    suite, _ = collected(project)
    shards = [collected(project, "--splits", "2", "--group", str(group)) for group in (1, 2)]
    (first, first_output), (second, second_output) = shards

    assert first
    assert second
    assert first + second == suite  # every test in a shard, none twice
    assert not set(first) & set(second)
    # Cut by the committed times, so the shards take about as long as each other.
    estimates = [float(ESTIMATE.findall(output)[0]) for output in (first_output, second_output)]
    assert max(estimates) < 1.5 * min(estimates), estimates


def test_a_single_shard_brings_no_splitter(bake_once: Callable[..., Path]) -> None:
    single = bake_once(matrix_id({}))
    sharded = bake_once(matrix_id(SHARDED), **SHARDED)

    assert not (single / ".test_durations").exists()
    assert "pytest-split" not in (single / "pyproject.toml").read_text()
    assert (sharded / ".test_durations").exists()
    assert '"pytest-split>=' in (sharded / "pyproject.toml").read_text()
