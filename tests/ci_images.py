"""Print the images the integration tests need, as the generated projects declare them:
their compose.yaml (and Ryuk), and their Dockerfile's base images, which the compose-stack
test builds.

`.ci/run` hands these to ../shared/offline-images/provide; no image is listed here.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.helpers import SUITE_BAKES, bake, dockerfile_base_images, project_images, synced


def main() -> int:
    images: dict[str, None] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for index, overrides in enumerate(SUITE_BAKES):
            project = synced(bake(Path(scratch) / str(index), **overrides))
            images.update(dict.fromkeys(project_images(project)))
            images.update(dict.fromkeys(dockerfile_base_images(project)))
    print(" ".join(images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
