"""Baking the template and running commands in the result."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import docker
import yaml
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

from hooks.pre_gen_project import choices_of

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots" / "default"

# Every option value at least once, and the extremes. Test ids are `key:value`.
MATRIX: list[dict[str, str]] = [
    {},
    {"use_redis": "n", "use_kafka": "n"},
    {"use_redis": "n"},
    {"use_kafka": "n"},
    {"kafka_image": "apache/kafka"},
    {"kafka_image": "confluentinc/cp-kafka"},
    {"object_storage": "localstack"},
    {"object_storage": "minio", "use_kafka": "n"},
    {"python_version": "3.12"},
    {"postgres_version": "18"},
    {"postgres_version": "16"},
    {"postgres_image": "pgvector/pgvector", "postgres_version": "18"},
    {"postgres_image": "postgis/postgis", "python_version": "3.12"},
    {"ci": "github"},
    {"ci": "gitlab"},
    {"ci_shards": "2"},
    {"ci": "none", "python_version": "3.12", "use_redis": "n", "use_kafka": "n"},
]


# The bakes whose own suites the integration tests run (and whose images CI must provide).
# The PostgreSQL images with an extension ride on bakes run anyway: the minimal one (no
# Redis, no Kafka) and the MinIO one.
SUITE_BAKES: list[dict[str, str]] = [
    {},
    {"use_redis": "n", "use_kafka": "n", "postgres_image": "pgvector/pgvector"},
    {"kafka_image": "confluentinc/cp-kafka"},
    {"object_storage": "localstack"},
    {"object_storage": "minio", "use_kafka": "n", "postgres_image": "postgis/postgis"},
]


# The generated fault tests (a broker of their own, paused and restarted; processes stopped
# with SIGTERM) run in the default bake's suite: what they prove is the worker's and the
# app's, whatever the Kafka image (each image's container is started by its bake's own run);
# elsewhere they would cost a minute a run to repeat it.
WITHOUT_FAULT_TESTS = ("-m", "not faults")


def template_choices() -> dict[str, list[str]]:
    """The questions of cookiecutter.json that have choices, read as the pre-gen hook does."""
    return choices_of(json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text()))


def answers_of(overrides: dict[str, str]) -> dict[str, Any]:
    """Every answer of a bake with `overrides`, the derived ones (slug, package) included."""
    context = generate_context(
        context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=overrides
    )
    return prompt_for_config(context, no_input=True)


def matrix_id(overrides: dict[str, str]) -> str:
    return "-".join(f"{key}:{value}" for key, value in overrides.items()) or "defaults"


def bake(output_dir: Path, **overrides: str) -> Path:
    """Bake the template with its defaults plus `overrides`; return the project directory."""
    return Path(
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, extra_context=overrides, output_dir=str(output_dir)
        )
    )


def cookiecutter_cli(
    output_dir: Path, answers: dict[str, str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The bake as a user runs it: cookiecutter's command line, its stderr as it prints it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(output_dir),
            str(TEMPLATE_DIR),
            *(f"{key}={value}" for key, value in answers.items()),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def venv_tool(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command-line tool installed in this template's own environment (uv sync)."""
    executable = Path(sys.executable).parent / name
    return subprocess.run(
        [str(executable), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def uv_env() -> dict[str, str]:
    """uv must find the machine's interpreters and never download one."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    return env


def run(
    project: Path, *command: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=project,
        env={**uv_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def text_files(project: Path) -> dict[str, str]:
    """Every file of the project that is text, by path relative to the project; uv.lock, which
    the post-gen hook resolves from pyproject.toml, is no template text."""
    files = {}
    skipped = {".venv", "__pycache__", ".mypy_cache", ".ruff_cache", "uv.lock"}
    for path in sorted(project.rglob("*")):
        if path.is_file() and not skipped & set(path.relative_to(project).parts):
            try:
                files[path.relative_to(project).as_posix()] = path.read_text()
            except UnicodeDecodeError:
                continue
    return files


def compose_image_of(project: Path) -> dict[str, str]:
    """The image of each compose.yaml service that pulls one (not the app's, which compose
    builds), by service."""
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    return {
        name: spec["image"]
        for name, spec in services.items()
        if "image" in spec and "build" not in spec and spec.get("pull_policy") != "never"
    }


def project_images(project: Path) -> list[str]:
    """What the generated project says its suite needs: compose.yaml's images and Ryuk's."""
    result = run(project, "uv", "run", "--quiet", "python", "-m", "tests.support.images", "list")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def is_stand_in(image: str) -> bool:
    """Whether ../shared/offline-images provided `image` as a stand-in (its README lists what
    each stand-in lacks); only to work around a gap it documents."""
    labels = docker.from_env().images.get(image).labels or {}
    return "offline-images.stand-in" in labels


def dockerfile_base_images(project: Path) -> list[str]:
    """The Dockerfile's base images: the defaults of its `ARG ..._IMAGE=` build arguments."""
    dockerfile = (project / "Dockerfile").read_text()
    return re.findall(r"^ARG \w+_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)


def synced(project: Path) -> Path:
    """The project with its environment installed from the lock the bake created."""
    result = run(project, "uv", "sync", "--quiet", "--locked")
    assert result.returncode == 0, result.stderr
    return project


def pytest_in(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The generated project's own pytest, without a cache left in the project."""
    return run(project, "uv", "run", "pytest", "-p", "no:cacheprovider", *args, env=env)


# A script's background job starts with SIGINT ignored: a command that stops on Ctrl-C must
# install its handler itself.
AS_A_BACKGROUND_JOB = ("sh", "-c", 'trap "" INT; exec "$@"', "sh")


class Background:
    """A command running in its own process group, its output read line by line."""

    def __init__(self, project: Path, *command: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=project,
            env={**uv_env(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._forward, daemon=True)
        self._reader.start()

    def _forward(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, containing: str, seconds: float = 120) -> str:
        while containing not in (line := self.lines.get(timeout=seconds)):
            pass
        return line

    def output(self, seconds: float = 300) -> tuple[int, str]:
        """Wait for the command to end; its exit code and the output not read yet."""
        returncode = self.process.wait(timeout=seconds)
        self._reader.join(timeout=10)  # it ends at the end of the output
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        return returncode, "".join(lines)

    def interrupt(self, seconds: float = 60) -> tuple[int, str]:
        """Ctrl-C, as a terminal sends it to the whole group; the exit code and the output not
        read yet. Still running after `seconds`, the group is killed and the test fails with
        that output."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.output(seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, output = self.output(seconds=10)
            raise AssertionError(f"still running {seconds} s after Ctrl-C:\n{output}") from None
