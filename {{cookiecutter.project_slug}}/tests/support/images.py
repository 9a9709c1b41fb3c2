"""The test images, read from compose.yaml (the single source of tags), and a parallel pull.

`uv run python -m tests.support.images pull` is what CI runs before pytest; `list` prints them.
The suite's images are those of the compose services with a module in tests/support/services/
(a project without that folder, where the CI files were copied alone, pulls every image).
Both use the names the suite starts: behind a registry mirror, with
TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX set, Testcontainers puts the prefix in front of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import yaml
from testcontainers.core.config import testcontainers_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "compose.yaml"


def compose_images(compose_file: Path = COMPOSE_FILE) -> dict[str, str]:
    """The image of every compose service that runs one (the app's services are built)."""
    services = yaml.safe_load(compose_file.read_text())["services"]
    return {name: spec["image"] for name, spec in services.items() if "image" in spec}


def suite_images(compose_file: Path = COMPOSE_FILE) -> list[str]:
    """The images of the services the suite starts: those with a module of their own."""
    images = compose_images(compose_file)
    try:
        from tests.support.services import module_names  # absent where copied alone
    except ImportError:
        return list(images.values())
    modules = set(module_names())
    return [image for name, image in images.items() if name in modules]


def as_started(reference: str) -> str:
    """The name Testcontainers starts `reference` under: TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX
    (a registry mirror, say `mirror.example.com/hub/`) in front of it, as it does for every
    image it starts."""
    return testcontainers_config.hub_image_name_prefix + reference


def images_to_pull(compose_file: Path = COMPOSE_FILE) -> list[str]:
    """The suite's images plus the reaper (Ryuk) of the pinned testcontainers, as started."""
    references = [*suite_images(compose_file), testcontainers_config.ryuk_image]
    return [as_started(reference) for reference in references]


def ensure_image(client: docker.DockerClient, reference: str) -> str:
    """Pull `reference` unless the engine has it already (tags here are pinned)."""
    started = time.perf_counter()
    try:
        client.images.get(reference)
        return f"present {reference}"
    except docker.errors.ImageNotFound:
        client.images.pull(reference)  # the SDK splits the tag (or digest) off the reference
    return f"pulled  {reference} in {time.perf_counter() - started:.1f}s"


def pull(references: list[str]) -> int:
    """Ensure every reference in parallel, one line per image; 1 if any could not be pulled."""
    client = docker.from_env()
    failures = 0
    with ThreadPoolExecutor(max_workers=max(len(references), 1)) as pool:
        futures = {ref: pool.submit(ensure_image, client, ref) for ref in references}
        for reference, future in futures.items():
            try:
                print(future.result(), flush=True)
            except docker.errors.DockerException as error:
                failures += 1
                print(f"FAILED  {reference}: {error}", file=sys.stderr, flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.images")
    parser.add_argument("command", choices=["list", "pull"])
    parser.add_argument("--compose-file", type=Path, default=COMPOSE_FILE)
    parser.add_argument("references", nargs="*", help="these instead of compose.yaml's images")
    args = parser.parse_args(argv)
    references = args.references or images_to_pull(args.compose_file)
    if args.command == "list":
        print("\n".join(references))
        return 0
    return pull(references)


if __name__ == "__main__":
    sys.exit(main())
