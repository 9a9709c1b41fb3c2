"""The generated README's first command on a fresh bake: `docker compose up --build` (needs
Docker with the compose and buildx plugins)."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import docker
import pytest
import yaml

from tests.helpers import bake, is_stand_in, run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("docker_to_ourselves")]

APP = "http://127.0.0.1:8000"
# The stand-in broker grants no producer ids (../shared/offline-images/README.md); real
# images keep the app's default, idempotence on.
NO_IDEMPOTENCE = {"environment": {"KAFKA_ENABLE_IDEMPOTENCE": "false"}}


def request(method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(
        APP + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(sent, timeout=10) as response:
        return response.status, json.loads(response.read())


def left_behind(project_name: str) -> list[str]:
    client = docker.from_env()
    label = {"label": f"com.docker.compose.project={project_name}"}
    containers = [c.name for c in client.containers.list(all=True, filters=label)]
    volumes = [v.name for v in client.volumes.list(filters=label)]
    networks = [n.name for n in client.networks.list(filters=label)]
    return containers + volumes + networks


def test_a_fresh_bake_runs_its_compose_stack(tmp_path: Path) -> None:
    project = bake(tmp_path)  # with the uv.lock the post-gen hook created
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    if is_stand_in(services["kafka"]["image"]):
        override = {"services": {"app": NO_IDEMPOTENCE, "worker": NO_IDEMPOTENCE}}
        (project / "compose.override.yaml").write_text(yaml.safe_dump(override))
    name = f"tcstack-{uuid.uuid4().hex[:8]}"
    compose = ("docker", "compose", "--project-name", name)
    try:
        up = run(project, *compose, "up", "--build", "--wait", "--wait-timeout", "240")
        assert up.returncode == 0, up.stdout + up.stderr

        assert request("GET", "/health/ready")[0] == 200
        status, user = request("POST", "/users", {"email": "ada@example.com", "full_name": "Ada"})
        assert status == 201
        assert isinstance(user, dict)
        count = "SELECT count(*) FROM user_events WHERE user_id = {}".format(int(user["id"]))
        deadline = time.monotonic() + 60
        while True:
            recorded = run(
                project,
                *compose,
                "exec", "-T", "postgres",
                "psql", "-U", "postgres", "-d", "acme_users", "-tAc", count,
            )  # fmt: skip
            if recorded.stdout.strip() == "1":
                break
            assert time.monotonic() < deadline, f"the worker recorded nothing: {recorded}"
            time.sleep(1)
    finally:
        down = run(project, *compose, "down", "--volumes", "--rmi", "local")
    assert down.returncode == 0, down.stderr
    assert left_behind(name) == []
