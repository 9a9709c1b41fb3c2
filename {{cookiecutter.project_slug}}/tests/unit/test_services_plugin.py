"""The xdist handoff in tests/support/plugin.py, without an engine: the workers collect, so they
tell the controller which services the selected tests use, and the controller starts those."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.support.plugin import HANDOFF_DIR_KEY, ServicesPlugin
from tests.support.services import module_names


class IntegrationItem:
    def __init__(self, fixturenames: list[str]) -> None:
        self.fixturenames = fixturenames

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "integration" else None


def config_of(**attributes: Any) -> pytest.Config:
    return cast(pytest.Config, SimpleNamespace(getoption=lambda *_: False, **attributes))


def session_using(service: str) -> pytest.Session:
    config = SimpleNamespace(option=SimpleNamespace(collectonly=False))
    return cast(pytest.Session, SimpleNamespace(config=config, items=[IntegrationItem([service])]))


@pytest.fixture
def controller() -> Iterator[ServicesPlugin]:
    plugin = ServicesPlugin(config_of())
    yield plugin
    plugin.pytest_unconfigure(plugin.config)


def worker(controller: ServicesPlugin, worker_id: str) -> ServicesPlugin:
    workerinput = {HANDOFF_DIR_KEY: str(controller.handoff_dir), "workerid": worker_id}
    return ServicesPlugin(config_of(workerinput=workerinput))


def test_the_controller_reads_the_reporting_workers_list_while_another_worker_writes_its_own(
    controller: ServicesPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, int]] = []
    monkeypatch.setattr(controller, "_start", started.append)
    service = module_names()[0]
    worker(controller, "gw0").pytest_collection_finish(session_using(service))

    write_text = Path.write_text

    def reported_while_the_file_is_open(path: Path, data: str, *args: Any, **kwargs: Any) -> int:
        with path.open("w"):  # as write_text does: the file is empty until the data is written
            first = SimpleNamespace(workerinput={"workerid": "gw0"})
            controller.pytest_xdist_node_collection_finished(node=first, ids=[])
        return write_text(path, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", reported_while_the_file_is_open)
    worker(controller, "gw1").pytest_collection_finish(session_using(service))

    assert started == [{service: 1}]


@pytest.mark.parametrize(
    ("markexpr", "imported"),
    [
        ("not integration", False),
        ("not integration and not image", False),
        ("not (integration or image)", False),
        ("integration", True),
        ("image or not integration", True),  # the image tests are integration tests
        ("not image", True),
        ("not integration(group='nightly')", True),  # a test marked without that argument
    ],
)
def test_a_run_imports_the_integration_tests_only_if_its_mark_expression_can_select_one(
    markexpr: str, imported: bool, tmp_path: Path
) -> None:
    workerinput = {HANDOFF_DIR_KEY: str(tmp_path), "workerid": "gw0"}
    option = SimpleNamespace(markexpr=markexpr)
    plugin = ServicesPlugin(config_of(workerinput=workerinput, option=option, rootpath=tmp_path))

    ignored = plugin.pytest_ignore_collect(collection_path=tmp_path / "tests" / "integration")

    assert (ignored is None) == imported
    assert plugin.pytest_ignore_collect(collection_path=tmp_path / "tests" / "unit") is None
