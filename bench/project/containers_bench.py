"""Container measurements inside a baked default project (bench only), printed as JSON.

python containers_bench.py cold-start     each service alone, one after another, in parallel
python containers_bench.py sets K         K full container sets, as one set per worker would
"""

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import docker
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


def memory_mib(container_ids: list[str]) -> float:
    """Memory the containers use, as `docker stats` counts it (without inactive file cache)."""
    client = docker.from_env()
    total = 0
    for container_id in container_ids:
        stats = client.containers.get(container_id).stats(stream=False, one_shot=True)
        memory = stats["memory_stats"]
        total += memory.get("usage", 0) - memory.get("stats", {}).get("inactive_file", 0)
    return total / 2**20


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


def container_sets(count: int) -> dict[str, float]:
    Reaper.get_instance()
    with ThreadPoolExecutor(max_workers=count) as pool:
        sets = list(pool.map(lambda _: start_services(SERVICES, workers=1), range(count)))
    try:
        time.sleep(2)  # let the servers settle after start
        ids = [c.get_container_id() for s in sets for c in s.containers.values()]
        return {"containers": len(ids), "memory_mib": memory_mib(ids)}
    finally:
        for services in sets:
            services.stop()


if __name__ == "__main__":
    if sys.argv[1] == "cold-start":
        print(json.dumps(cold_start()))
    else:
        print(json.dumps(container_sets(int(sys.argv[2]))))
