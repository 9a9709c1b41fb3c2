"""How the suite reaches mapped ports (tests/support/container_engine.py), without an engine: the
cases where Testcontainers' own guess breaks, and the settings that always win."""

from __future__ import annotations

from typing import Any, cast

import docker.errors
import pytest
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.docker_client import DockerClient

from tests.support import container_engine as engine


class FakeApi:
    def __init__(self, listed: list[dict[str, Any]]) -> None:
        self.listed = listed

    def containers(self, **_: Any) -> list[dict[str, Any]]:
        return self.listed


class FakeSdk:
    def __init__(self, listed: list[dict[str, Any]]) -> None:
        self.api = FakeApi(listed)


class FakeClient:
    """What choose_connection_mode asks of Testcontainers' client."""

    def __init__(self, network: str | None = None, listed: list[dict[str, Any]] | None = None):
        self.network = network
        self.client = FakeSdk(listed if listed is not None else [DOCKER_LISTED])

    def find_host_network(self) -> str | None:
        return self.network

    def get_connection_mode(self) -> ConnectionMode:
        return ConnectionMode.gateway_ip


DOCKER_LISTED = {"Id": "c0ffee", "HostConfig": {"NetworkMode": "bridge"}, "NetworkSettings": {}}
PODMAN_LISTED = {"Id": "c0ffee", "NetworkSettings": {}}  # Podman 4.3 lists no HostConfig


def choose(client: FakeClient, *, is_podman: bool = False) -> tuple[ConnectionMode, str]:
    return engine.choose_connection_mode(cast(DockerClient, client), is_podman=is_podman)


@pytest.fixture
def in_a_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "inside_container", lambda: True)
    monkeypatch.setattr(testcontainers_config, "connection_mode_override", None)
    monkeypatch.setattr(testcontainers_config, "tc_host_override", None)


@pytest.mark.usefixtures("in_a_container")
@pytest.mark.parametrize(
    ("client", "is_podman", "reason"),
    [
        (FakeClient(), True, "the engine is Podman"),
        (FakeClient(network="host"), False, "host network"),
        (FakeClient(listed=[PODMAN_LISTED]), False, "no network settings"),
    ],
    ids=["podman", "host-network", "no-gateway-in-the-list"],
)
def test_where_testcontainers_guess_breaks_ports_are_reached_on_the_engines_host(
    client: FakeClient, is_podman: bool, reason: str
) -> None:
    mode, why = choose(client, is_podman=is_podman)

    assert mode is ConnectionMode.docker_host
    assert reason in why


@pytest.mark.usefixtures("in_a_container")
def test_elsewhere_in_a_container_testcontainers_chooses() -> None:
    assert choose(FakeClient(network="ci-network")) == (
        ConnectionMode.gateway_ip,
        "Testcontainers' choice inside a container",
    )


@pytest.mark.usefixtures("in_a_container")
def test_an_explicit_connection_mode_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testcontainers_config, "connection_mode_override", ConnectionMode.bridge_ip)

    for client, is_podman in ((FakeClient(), True), (FakeClient(network="host"), False)):
        assert choose(client, is_podman=is_podman)[0] is ConnectionMode.bridge_ip


@pytest.mark.usefixtures("in_a_container")
def test_a_host_override_means_the_engines_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testcontainers_config, "tc_host_override", "docker")

    assert choose(FakeClient(network="host")) == (
        ConnectionMode.docker_host,
        "TESTCONTAINERS_HOST_OVERRIDE",
    )


def test_outside_a_container_the_engines_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "inside_container", lambda: False)
    monkeypatch.setattr(testcontainers_config, "connection_mode_override", None)
    monkeypatch.setattr(testcontainers_config, "tc_host_override", None)

    assert choose(FakeClient(), is_podman=True)[0] is ConnectionMode.docker_host


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ({"Platform": {"Name": "Docker Engine - Community"}, "Version": "28.2.2"}, "Docker"),
        ({"Components": [{"Name": "Podman Engine"}], "Version": "4.3.1"}, "Podman Engine 4.3.1"),
    ],
)
def test_the_engine_is_named_by_its_version(version: dict[str, Any], name: str) -> None:
    assert engine.engine_name(version).startswith(name)


def test_an_engine_that_refuses_is_named_by_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # the discard port: nothing listens

    with pytest.raises(engine.EngineUnreachableError) as raised:
        engine.connect()

    assert raised.value.where == "tcp://127.0.0.1:9"
    assert isinstance(raised.value.__cause__, docker.errors.DockerException)
