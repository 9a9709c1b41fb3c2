"""Container measurements inside a baked default project (bench only), printed as JSON.

python containers_bench.py cold-start     each service alone, one after another, in parallel
"""

import json
import sys
import time
from collections.abc import Callable

from testcontainers.core.container import DockerContainer, Reaper
from tests.support.containers import start_services
from tests.support.images import compose_images
from tests.support.services import present_services

SERVICES = present_services(compose_images())
MAKERS: dict[str, Callable[[], DockerContainer]] = {
    service.name: lambda service=service, image=image: service.container(image, workers=1)
    for service, image in SERVICES
}


def seconds_to(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def cold_start() -> dict[str, float]:
    Reaper.get_instance()  # Ryuk is there before any timing, as in a real run's second service
    result: dict[str, float] = {}
    for name, make in MAKERS.items():
        container = make()
        result[f"{name} alone"], _ = seconds_to(container.start)
        container.stop()
    containers = [make() for make in MAKERS.values()]
    result["one after another"], _ = seconds_to(lambda: [c.start() for c in containers])
    for container in containers:
        container.stop()
    result["parallel (ours)"], services = seconds_to(lambda: start_services(SERVICES, workers=1))
    services.stop()
    return result


if __name__ == "__main__":
    if sys.argv[1:] != ["cold-start"]:
        sys.exit("usage: python containers_bench.py cold-start")
    print(json.dumps(cold_start()))
