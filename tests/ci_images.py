"""Print the images the integration tests need, as the generated projects declare them, on
two lines.

The first: what this machine's engine must have. Each suite bake's compose.yaml images (and
Ryuk), its Dockerfile's base images (the compose-stack test builds them), the job image and
the dind service of its `.gitlab-ci.yml`, and the images of the CI runners the template's
tests execute the generated CI files with (tests/test_ci_executed.py).

The second: what the dind engines of those GitLab jobs pull, through the registry mirror:
the suite images of the bake whose CI files are executed. Podman runs that bake's suite too
(tests/test_engines.py) and pulls the same images from the mirror.

`.ci/run` hands these to ../shared/offline-images/provide (the second with --mirror, and
with --podman); no image of a generated project is listed here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from tests.helpers import SUITE_BAKES, bake, dockerfile_base_images, project_images, synced

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


def main() -> int:
    on_this_engine: dict[str, None] = {}
    mirrored: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, overrides in enumerate(SUITE_BAKES):
            project = synced(bake(Path(scratch) / str(index), **overrides))
            suite = project_images(project)
            on_this_engine.update(dict.fromkeys(suite))
            on_this_engine.update(dict.fromkeys(dockerfile_base_images(project)))
            if not overrides:  # the bake whose CI files run, sharded or not
                on_this_engine.update(dict.fromkeys(gitlab_images(project)))
                mirrored = suite
    on_this_engine.update(dict.fromkeys(RUNNER_IMAGES))
    print(" ".join(on_this_engine))
    print(" ".join(mirrored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
