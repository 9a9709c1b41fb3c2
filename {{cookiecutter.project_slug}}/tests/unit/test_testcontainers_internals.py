"""The suite's uses of Testcontainers' private API (tests/support/testcontainers_internals.py),
each against the installed Testcontainers, without an engine: an upgrade that changes one
fails here, by name."""

from pathlib import Path
from typing import Any, cast

from docker.models.containers import Container
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.labels import LABEL_SESSION_ID, create_labels

from tests.support.services.postgres import TunedPostgresContainer
from tests.support.testcontainers_internals import (
    adopt,
    configuration,
    created_container,
    in_session,
    reaper_image_as_given,
    sharing_client,
)

NO_ENGINE = cast(DockerClient, object())  # stands for a client: nothing here talks to an engine


def test_containers_made_while_sharing_a_client_use_it() -> None:
    with sharing_client(NO_ENGINE):
        container = DockerContainer("nginx:1.29")

    assert container.get_docker_client() is NO_ENGINE


def test_a_container_adopts_a_running_one_instead_of_creating_one() -> None:
    with sharing_client(NO_ENGINE):
        container = DockerContainer("nginx:1.29")
    running = cast(Container, object())

    assert created_container(container) is None
    adopt(container, running)
    assert created_container(container) is running


def test_the_configuration_holds_what_start_would_create(tmp_path: Path) -> None:
    script = tmp_path / "10-role.sql"
    script.write_text("CREATE ROLE reporting;")
    with sharing_client(NO_ENGINE):
        container: Any = TunedPostgresContainer("postgres:17").with_copy_into_container(
            script, "/docker-entrypoint-initdb.d/10-role.sql"
        )

    configured = configuration(container)

    assert configured["env"]["POSTGRES_PASSWORD"] == "tests-only"  # added by _configure
    assert configured["command"].startswith("postgres -c fsync=off")
    [(destination, digest)] = [c for c in configured["copied"] if c[0].endswith("10-role.sql")]
    script.write_text("CREATE ROLE somebody_else;")
    assert (destination, digest) not in configuration(container)["copied"]


def test_containers_started_in_a_session_carry_its_id() -> None:
    with in_session("the-runs-session"):
        labels = create_labels("nginx:1.29", None)

    assert labels[LABEL_SESSION_ID] == "the-runs-session"
    assert create_labels("nginx:1.29", None)[LABEL_SESSION_ID] != "the-runs-session"


def test_ryuk_starts_under_its_prefixed_name_with_nothing_added(monkeypatch: Any) -> None:
    monkeypatch.setattr(testcontainers_config, "hub_image_name_prefix", "mirror.example/hub/")
    ryuk = testcontainers_config.ryuk_image

    with reaper_image_as_given():
        as_started = (testcontainers_config.hub_image_name_prefix, testcontainers_config.ryuk_image)

    assert as_started == ("", f"mirror.example/hub/{ryuk}")
    assert testcontainers_config.ryuk_image == ryuk
