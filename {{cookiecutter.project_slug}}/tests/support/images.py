"""The test images, and a parallel pull: what CI runs before pytest.

    uv run python -m tests.support.images pull [--build] [IMAGE ...]
    uv run python -m tests.support.images list [--build] [IMAGE ...]

The images come from the first of these that names any: the arguments; pyproject.toml's
`[tool.test-images] images = [...]` (a project whose tests name their images in code);
the compose services with a module in tests/support/services/ (this template's layout);
every image of a compose file (compose.yaml, compose.yml, docker-compose.yaml or
docker-compose.yml). Ryuk's image is added to them. With none, it says in one line what to
add and pulls nothing, which is no error; a reference that cannot be pulled is one.
`--build` adds the Dockerfile's base images (what `pytest --image` builds from).

It needs only pyyaml and testcontainers (which brings the docker SDK), so it can be copied
alone. The names are those the suite starts: behind a registry mirror, with
TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX set, Testcontainers puts the prefix in front of each.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml
from testcontainers.core.config import testcontainers_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "compose.yaml"
COMPOSE_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
)
NOTHING_DECLARED = (
    "no test images to pull: list them in pyproject.toml under [tool.test-images] "
    "(images = [...]) or pass them as arguments"
)


def compose_images(compose_file: Path = COMPOSE_FILE) -> dict[str, str]:
    """The image of every compose service that pulls one: not those compose builds
    (`build:`) or must find built (`pull_policy: never`), such as the app's."""
    services = yaml.safe_load(compose_file.read_text()).get("services") or {}
    return {name: spec["image"] for name, spec in services.items() if pulled(spec)}


def pulled(service: dict[str, Any]) -> bool:
    built = "build" in service or service.get("pull_policy") == "never"
    return "image" in service and not built


def declared_images(project: Path) -> list[str]:
    """The images the tests use, from the first source that names any (see above)."""
    pyproject = project / "pyproject.toml"
    if pyproject.exists():
        tools = tomllib.loads(pyproject.read_text()).get("tool", {})
        table = tools.get("test-images", {})
        if table.get("images"):
            return list(table["images"])
    compose_file = next(
        (project / name for name in COMPOSE_NAMES if (project / name).exists()), None
    )
    if compose_file is None:
        return []
    images = compose_images(compose_file)
    if (project / "tests" / "support" / "services").is_dir():
        from tests.support.services import module_names  # absent where copied alone

        return [image for name, image in images.items() if name in module_names()]
    return list(images.values())


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile builds from: its `ARG *_IMAGE=` defaults and the `FROM`s that
    name an image (not a stage, not an argument)."""
    text = dockerfile.read_text()
    arguments = re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    stage_names = re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE | re.IGNORECASE)
    stages = set(stage_names)
    named = re.findall(r"^FROM (?:--platform=\S+ )?([^$\s]\S*)", text, re.MULTILINE)
    images = [image for image in named if image not in stages]
    return list(dict.fromkeys([*arguments, *images]))


def as_started(reference: str) -> str:
    """The name Testcontainers starts `reference` under: TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX
    (a registry mirror, say `mirror.example.com/hub/`) in front of it, as it does for every
    image it starts."""
    return testcontainers_config.hub_image_name_prefix + reference


def images_to_pull(project: Path, given: list[str], build: bool = False) -> list[str]:
    """The images, as started, plus the reaper (Ryuk) of the installed Testcontainers; none
    if nothing names any."""
    references = [*(given or declared_images(project))]
    if build and (project / "Dockerfile").exists():
        references += base_images(project / "Dockerfile")
    if not references:
        return []
    references.append(testcontainers_config.ryuk_image)
    return [as_started(reference) for reference in references]


def ensure_image(client: docker.DockerClient, reference: str) -> str:
    """Pull `reference` unless the engine has it already (tags here are pinned)."""
    started = time.perf_counter()
    try:
        client.images.get(reference)
        return f"present {reference}"
    except docker.errors.ImageNotFound:
        # The SDK splits the tag (or digest) off the reference.
        client.images.pull(reference)
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
    with_base_images = "and the Dockerfile's base images"
    parser.add_argument("--build", action="store_true", help=with_base_images)
    hidden = argparse.SUPPRESS  # for the template's tests
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT, help=hidden)
    parser.add_argument("references", nargs="*", help="these, not the declared ones")
    args = parser.parse_args(argv)
    references = images_to_pull(args.project, args.references, build=args.build)
    if not references:
        print(NOTHING_DECLARED)
        return 0
    if args.command == "list":
        print("\n".join(references))
        return 0
    return pull(references)


if __name__ == "__main__":
    sys.exit(main())
