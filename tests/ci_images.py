"""Print the images the integration tests need, as the generated projects declare them, on
two lines.

The first: what this machine's engine must have. Each suite bake's compose.yaml images (and
Ryuk), its Dockerfile's base images (the compose-stack test builds them), the job image and
the dind service of its `.gitlab-ci.yml`, the image of the service the generated
docs/adding-a-service.md adds to compose.yaml, and the images of the CI runners the template's
tests execute the generated CI files with (tests/test_ci_executed.py).

The second: what the dind engines of those GitLab jobs pull, through the registry mirror:
the suite images of the bake whose CI files are executed. Podman runs that bake's suite too
(tests/test_engines.py) and pulls the same images from the mirror.

`.ci/run` hands these to ../shared/offline-images/provide (the second with --mirror, and
with --podman); no image of a generated project is listed here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from tests.helpers import (
    SUITE_BAKES,
    bake,
    compose_image_of,
    dockerfile_base_images,
    project_images,
    synced,
)
from tests.test_adding_a_service import DOC
from tests.walkthrough import write_files

# What the runners themselves start: gitlab-ci-local 4.69's service-wait and helper images,
# and the job image act/run-act maps `ubuntu-24.04` to.
RUNNER_IMAGES = [
    "sumina46/wait-for-it:latest",
    "firecow/gitlab-ci-local-util:latest",
    "act-runner/ubuntu:24.04",
]


def gitlab_images(project: Path) -> list[str]:
    """The job image and the services of the project's `.gitlab-ci.yml`."""
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = [job for job in config.values() if isinstance(job, dict)]  # `default` too
    images = [job["image"] for job in jobs if isinstance(job.get("image"), str)]
    services = [service["name"] for job in jobs for service in job.get("services", [])]
    return images + services


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """The bake hook's "created ... next: ..." goes to stderr: stdout is the two lines."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main() -> int:
    on_this_engine: dict[str, None] = {}
    mirrored: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, stdout_to_stderr():
        for index, overrides in enumerate(SUITE_BAKES):
            project = synced(bake(Path(scratch) / str(index), **overrides))
            suite = project_images(project)
            on_this_engine.update(dict.fromkeys(suite))
            on_this_engine.update(dict.fromkeys(dockerfile_base_images(project)))
            if not overrides:  # the bake whose CI files run, sharded or not
                on_this_engine.update(dict.fromkeys(gitlab_images(project)))
                mirrored = suite
        # The service docs/adding-a-service.md adds, as its compose.yaml then names it.
        walked = bake(Path(scratch) / "walkthrough")
        added = set(compose_image_of(walked).values())
        write_files(walked, walked / DOC)
        on_this_engine.update(dict.fromkeys(set(compose_image_of(walked).values()) - added))
    on_this_engine.update(dict.fromkeys(RUNNER_IMAGES))
    print(" ".join(on_this_engine))
    print(" ".join(mirrored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
