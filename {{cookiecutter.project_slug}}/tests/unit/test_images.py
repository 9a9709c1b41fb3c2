"""The CI pre-pull's images (tests/support/images.py), wherever the CI files are copied."""

from pathlib import Path

import pytest
from testcontainers.core.config import testcontainers_config

from tests.support.images import (
    NOTHING_DECLARED,
    PROJECT_ROOT,
    compose_images,
    images_to_pull,
    main,
)

RYUK = testcontainers_config.ryuk_image


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_project_declares_its_images_in_pyproject(tmp_path: Path) -> None:
    project = project_with(
        tmp_path,
        {
            "pyproject.toml": '[tool.test-images]\nimages = ["postgres:16", "nginx:1.29"]\n',
            "compose.yaml": "services:\n  app:\n    image: myapp:1\n",
        },
    )

    assert images_to_pull(project, []) == ["postgres:16", "nginx:1.29", RYUK]


@pytest.mark.parametrize("name", ["compose.yml", "docker-compose.yaml", "docker-compose.yml"])
def test_without_a_declaration_every_image_of_the_compose_file(tmp_path: Path, name: str) -> None:
    compose = (
        "services:\n  db:\n    image: postgres:16\n"
        "  app:\n    build: .\n    image: myapp:local\n"  # built here, never pulled
        "  worker:\n    image: myapp:local\n    pull_policy: never\n"
    )
    project = project_with(tmp_path, {name: compose})

    assert images_to_pull(project, []) == ["postgres:16", RYUK]


def test_arguments_come_first(tmp_path: Path) -> None:
    project = project_with(tmp_path, {"pyproject.toml": '[tool.test-images]\nimages = ["a:1"]\n'})

    assert images_to_pull(project, ["b:2"]) == ["b:2", RYUK]


def test_with_nothing_declared_it_says_what_to_add_and_pulls_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "--project", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == NOTHING_DECLARED


def test_build_adds_the_dockerfiles_base_images(tmp_path: Path) -> None:
    dockerfile = (
        "ARG PYTHON_IMAGE=python:3.13-slim\nARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9\n"
        "FROM ${UV_IMAGE} AS uv\nFROM ${PYTHON_IMAGE} AS build\nFROM nginx:1.27 AS web\n"
        "FROM build AS runtime\n"
    )
    project = project_with(tmp_path, {"Dockerfile": dockerfile, "compose.yaml": "services: {}\n"})

    assert images_to_pull(project, ["db:1"], build=True) == [
        "db:1",
        "python:3.13-slim",
        "ghcr.io/astral-sh/uv:0.9",
        "nginx:1.27",
        RYUK,
    ]


def test_this_project_pulls_the_images_of_its_test_services() -> None:
    images = compose_images()
    pulled = images_to_pull(PROJECT_ROOT, [])

    assert pulled[-1] == RYUK
    assert set(pulled[:-1]) <= set(images.values())
    assert images["postgres"] in pulled
