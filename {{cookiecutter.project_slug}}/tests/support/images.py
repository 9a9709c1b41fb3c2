"""The test images, read from compose.yaml (the single source of tags), and a parallel pull.

`uv run python -m tests.support.images pull` is what CI runs before pytest; `list` prints them.
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
TEST_SERVICES = ("postgres", "redis", "kafka")


def compose_images(compose_file: Path = COMPOSE_FILE) -> dict[str, str]:
    """The image of each test service that compose.yaml declares, by service name."""
    services = yaml.safe_load(compose_file.read_text())["services"]
    return {name: services[name]["image"] for name in TEST_SERVICES if name in services}


def ryuk_image() -> str:
    return testcontainers_config.ryuk_image


def images_to_pull(compose_file: Path = COMPOSE_FILE) -> list[str]:
    return [*compose_images(compose_file).values(), ryuk_image()]


def pull_one(client: docker.DockerClient, reference: str) -> float:
    started = time.perf_counter()
    client.images.pull(reference)  # the SDK splits the tag (or digest) off the reference
    return time.perf_counter() - started


def pull(references: list[str]) -> int:
    """Pull every reference in parallel; one line per image; 1 if any pull failed."""
    client = docker.from_env()
    failures = 0
    with ThreadPoolExecutor(max_workers=len(references) or 1) as pool:
        futures = {reference: pool.submit(pull_one, client, reference) for reference in references}
        for reference, future in futures.items():
            try:
                print(f"pulled {reference} in {future.result():.1f}s", flush=True)
            except docker.errors.DockerException as error:
                failures += 1
                print(f"FAILED to pull {reference}: {error}", file=sys.stderr, flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.images")
    parser.add_argument("command", choices=["list", "pull"])
    parser.add_argument("--compose-file", type=Path, default=COMPOSE_FILE)
    parser.add_argument("references", nargs="*", help="pull these instead of compose.yaml's")
    args = parser.parse_args(argv)
    references = args.references or images_to_pull(args.compose_file)
    if args.command == "list":
        print("\n".join(references))
        return 0
    return pull(references)


if __name__ == "__main__":
    sys.exit(main())
