"""One uv for developers, CI and the image: pyproject.toml pins it, the Dockerfile copies it."""

import re
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_image_copies_the_uv_the_project_pins() -> None:
    pinned = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["uv"]
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    image_tag = re.search(r"^ARG UV_IMAGE=ghcr\.io/astral-sh/uv:(\S+)$", dockerfile, re.MULTILINE)

    assert image_tag is not None, "the Dockerfile's ARG UV_IMAGE names no uv image"
    assert pinned["required-version"] == f"=={image_tag.group(1)}"
