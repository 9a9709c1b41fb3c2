"""The generated CI files, executed: the GitLab pipeline under gitlab-ci-local with its
docker:dind service (in two shards), the GitHub workflow under act; and both copied, as the
generated README says, into a project written like the public guides (tests/guides_project:
its image named in its conftest, no compose.yaml).

../shared/offline-images/README.md says what runs them here: the stand-in images, the
registry mirror the dind engine pulls from (`provide --mirror`), the runner image and
stand-in actions of act/run-act.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    TEMPLATE_DIR,
    WITHOUT_FAULT_TESTS,
    compose_image_of,
    dockerfile_base_images,
    is_stand_in,
    matrix_id,
    project_images,
    run,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

OFFLINE_IMAGES = TEMPLATE_DIR.parent / "shared" / "offline-images"
# Each CI system on a bake (GitLab's sharded: `parallel:`), and copied into the guides'
# project (None).
GITLAB_PROJECTS = [
    pytest.param({"ci_shards": "2"}, id="ci_shards:2"),
    pytest.param(None, id="copied"),
]
ACT_PROJECTS = [pytest.param({}, id="defaults"), pytest.param(None, id="copied")]
GUIDES_PROJECT = Path(__file__).parent / "guides_project"
COPIED = (".github", ".gitlab-ci.yml", "tests/support/images.py")
# act's job image for `runs-on: ubuntu-24.04` (act/run-act).
ACT_RUNNER = "act-runner/ubuntu:24.04"
ACT_RUNNER_WITH_BUILDX = "tc-service-template/act-runner:buildx"
# The image test that needs a listener of its own on the broker (see test_generated_suite).
KAFKA_IMAGE_CHECK = (
    "tests/integration/test_image.py::test_the_image_reaches_each_service_it_is_configured_for"
    "[kafka]"
)
# What a bake's CI jobs run here: its whole suite runs in tests/test_generated_suite.py, so
# these prove the CI files (pre-pull, services, shards, reports) on the unit tests and those
# that use every service; the GitHub job adds the image tests, which its pre-pull serves.
BAKE_SUBSET = ["tests/unit", "tests/integration/test_health.py"]
IMAGE_TESTS = "tests/integration/test_image.py"
JOB_LINE = re.compile(r"^(?P<job>lint|test(?:: \[\d+/\d+\])?)\s*> (?P<line>.*)$", re.MULTILINE)
PASSED = re.compile(r"=+ (\d+) passed")
CI_TIMEOUT = 900
BUILDX_PATH = '{{range .ClientInfo.Plugins}}{{if eq .Name "buildx"}}{{.Path}}{{end}}{{end}}'


def committed_copy(project: Path, destination: Path) -> Path:
    """The bake as a repository holds it: without its environment, in one commit."""
    copy = destination / project.name
    shutil.copytree(
        project,
        copy,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".*_cache", ".hypothesis"),
    )
    for command in (
        ["git", "init", "--quiet"],
        ["git", "add", "--all"],
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", "commit", "-qm", "bake"],
    ):
        subprocess.run(command, cwd=copy, check=True, capture_output=True)
    return copy


def guides_project(bake: Path, destination: Path) -> Path:
    """The guides' project with the bake's CI files and pre-pull copied in, locked and
    committed, as a team copying them would."""
    project = destination / "guides-app"
    shutil.copytree(GUIDES_PROJECT, project)
    for copied in COPIED:
        if (bake / copied).is_dir():
            shutil.copytree(bake / copied, project / copied)
        else:
            shutil.copy(bake / copied, project / copied)
    locked = run(project, "uv", "lock", "--quiet")
    assert locked.returncode == 0, locked.stderr
    return committed_copy(project, destination / "committed")


def project_under_ci(
    overrides: dict[str, str] | None, bake_once: Callable[..., Path], tmp_path: Path
) -> tuple[Path, int]:
    """The project a CI test runs (a bake, or the guides' project), and its shard count."""
    if overrides is None:
        return guides_project(bake_once(matrix_id({})), tmp_path), 1
    bake = bake_once(matrix_id(overrides), **overrides)
    return committed_copy(bake, tmp_path), int(overrides.get("ci_shards", "1"))


def run_ci(
    command: list[str], project: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=project,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CI_TIMEOUT,
        check=False,
    )


def job_logs(output: str) -> dict[str, list[str]]:
    """gitlab-ci-local's output by job: the lines it prefixes with `JOB > `."""
    logs: dict[str, list[str]] = {}
    for match in JOB_LINE.finditer(output):
        logs.setdefault(match["job"], []).append(match["line"])
    return logs


def gitlab_test_jobs(shards: int) -> list[str]:
    return ["test"] if shards == 1 else [f"test: [{i}/{shards}]" for i in range(1, shards + 1)]


@pytest.mark.parametrize("overrides", GITLAB_PROJECTS)
def test_the_gitlab_pipeline_passes_under_gitlab_ci_local(
    overrides: dict[str, str] | None, bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    """Lint, then the test job(s), each with a dind service whose engine pulls exactly the
    project's test images (and Ryuk) from the registry mirror before pytest starts."""
    if shutil.which("gitlab-ci-local") is None:
        pytest.fail("gitlab-ci-local is not installed: .ci/run installs it")
    project, shards = project_under_ci(overrides, bake_once, tmp_path)
    images = project_images(project)
    addopts = [] if overrides is None else [*WITHOUT_FAULT_TESTS, *BAKE_SUBSET]

    result = run_ci(
        [
            "gitlab-ci-local",
            "--privileged",
            "--container-executable",
            str(OFFLINE_IMAGES / "docker-privileged"),
            "--variable",
            f"PYTEST_ADDOPTS={shlex.join(addopts)}",
        ],
        project,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    logs = job_logs(result.stdout)
    for job in ["lint", *gitlab_test_jobs(shards)]:
        assert re.search(rf"^ PASS  {re.escape(job)}\s*$", result.stdout, re.MULTILINE), output
    assert "All checks passed!" in logs["lint"]
    passed = 0
    for job in gitlab_test_jobs(shards):
        log = logs[job]
        session_starts = next(i for i, line in enumerate(log) if "test session starts" in line)
        pulled = [line.split()[1] for line in log[:session_starts] if line.startswith("pulled ")]
        assert sorted(pulled) == sorted(images), "\n".join(log)
        [summary] = [line for line in log if PASSED.search(line)]
        assert "failed" not in summary, "\n".join(log)
        passed += int(PASSED.search(summary).group(1))  # type: ignore[union-attr]
    assert passed > 0


def act_runner() -> str:
    """The job image: the stand-in runner lacks the buildx plugin that GitHub's Ubuntu images
    have (the workflow runs the image tests), so it gets this machine's."""
    if not is_stand_in(ACT_RUNNER):
        return ACT_RUNNER
    plugin = subprocess.run(
        ["docker", "info", "--format", BUILDX_PATH], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert plugin, "this machine's docker CLI has no buildx plugin"
    dockerfile = f"FROM {ACT_RUNNER}\nCOPY {Path(plugin).name} /usr/libexec/docker/cli-plugins/\n"
    context = str(Path(plugin).parent)
    built = subprocess.run(
        ["docker", "build", "--quiet", "--tag", ACT_RUNNER_WITH_BUILDX, "--file", "-", context],
        input=dockerfile,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return ACT_RUNNER_WITH_BUILDX


@pytest.mark.parametrize("overrides", ACT_PROJECTS)
def test_the_github_workflow_passes_under_act(
    overrides: dict[str, str] | None, bake_once: Callable[..., Path], tmp_path: Path
) -> None:
    """Both jobs (the test job once per shard) succeed, the test job pre-pulls exactly the
    project's images (and Ryuk, and the Dockerfile's base images where there is one), and
    each test job's JUnit report arrives as its artifact."""
    project, shards = project_under_ci(overrides, bake_once, tmp_path)
    artifacts = tmp_path / "artifacts"
    act_options = ["-P", f"ubuntu-24.04={act_runner()}"]
    if overrides is not None:  # a bake: its whole suite runs elsewhere
        addopts = shlex.join([*WITHOUT_FAULT_TESTS, *BAKE_SUBSET, IMAGE_TESTS])
        kafka_image = compose_image_of(project).get("kafka")
        if kafka_image and is_stand_in(kafka_image):
            # The stand-in broker has one listener (../shared/offline-images/README.md).
            addopts += f" --deselect {KAFKA_IMAGE_CHECK}"
        act_options += ["--env", f"PYTEST_ADDOPTS={addopts}"]

    result = run_ci(
        [str(OFFLINE_IMAGES / "act" / "run-act"), str(project), *act_options],
        project,
        env={"ACT_ARTIFACTS": str(artifacts)},
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    succeeded = re.findall(r"^\[CI/([\w-]+) *\]\s+🏁  Job succeeded", result.stdout, re.MULTILINE)
    test_jobs = ["test"] if shards == 1 else [f"test-{i}" for i in range(1, shards + 1)]
    assert sorted(succeeded) == sorted(["lint", *test_jobs]), output
    names = ["junit"] if shards == 1 else [f"junit-{i}" for i in range(1, shards + 1)]
    assert sorted(path.name for path in artifacts.iterdir()) == names
    tests = 0
    for name in names:
        suite = ET.parse(artifacts / name / "junit.xml").getroot().find("testsuite")
        assert suite is not None
        assert suite.get("failures") == suite.get("errors") == "0"
        tests += int(suite.get("tests", "0"))
    assert tests > 0
    pulled = re.findall(r"\|\s+(?:pulled |present) (\S+)", result.stdout)
    expected = project_images(project)
    if (project / "Dockerfile").exists():
        expected += dockerfile_base_images(project)
    assert sorted(pulled) == sorted(expected), output
