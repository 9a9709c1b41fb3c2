"""The OpenAPI document, as client generators and API gateways read it."""

import importlib.metadata
import re
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from {{ cookiecutter.package_name }}.config import PACKAGE, Settings
from {{ cookiecutter.package_name }}.main import create_app, project_info

PROBLEM = "application/problem+json"


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in document["paths"].values() for operation in path.values()]


def test_each_operation_has_a_name_a_client_method_can_take() -> None:
    names = [operation["operationId"] for operation in operations(create_app().openapi())]

    assert len(names) == len(set(names))
    assert {"create_user", "read_user", "list_users", "update_user"} <= set(names)
    for name in names:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", name), name


def test_every_error_is_documented_as_a_problem() -> None:
    for operation in operations(create_app().openapi()):
        responses = operation["responses"]
        assert "500" in responses, operation["operationId"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert set(response["content"]) == {PROBLEM}, (operation["operationId"], status)


def test_every_route_with_input_documents_its_validation_problem() -> None:
    for operation in operations(create_app().openapi()):
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in operation["responses"], operation["operationId"]


def test_every_route_taking_json_documents_the_problem_of_a_body_that_is_not() -> None:
    for operation in operations(create_app().openapi()):
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert "400" in operation["responses"], operation["operationId"]


def test_every_route_taking_a_body_documents_the_problem_of_one_too_large() -> None:
    for operation in operations(create_app().openapi()):
        if operation.get("requestBody"):
            assert "413" in operation["responses"], operation["operationId"]


def test_every_route_of_the_users_documents_the_database_being_unavailable() -> None:
    for operation in operations(create_app().openapi()):
        if "users" in operation.get("tags", []):
            assert "503" in operation["responses"], operation["operationId"]


def test_title_version_and_description_come_from_the_settings() -> None:
    default = create_app().openapi()["info"]
    given = create_app(
        Settings(api_title="Users API", api_version="2.1.0", api_description="Who is who.")
    ).openapi()["info"]

    assert (default["title"], default["version"]) == project_info()[:2]
    assert (given["title"], given["version"], given["description"]) == (
        "Users API",
        "2.1.0",
        "Who is who.",
    )


@pytest.fixture
def uncached_project_info() -> Iterator[None]:
    project_info.cache_clear()
    yield
    project_info.cache_clear()


def test_the_project_is_found_by_its_package_name_without_listing_every_distribution(
    uncached_project_info: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def listing_every_distribution() -> NoReturn:  # about 90 ms, at every process's first app
        raise AssertionError("listed every installed distribution's files")

    monkeypatch.setattr(importlib.metadata, "packages_distributions", listing_every_distribution)

    assert project_info().version == importlib.metadata.version(PACKAGE)


def test_a_distribution_named_otherwise_is_found_by_the_package_it_installs(
    uncached_project_info: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = importlib.metadata.metadata(PACKAGE)

    def metadata(name: str) -> importlib.metadata.PackageMetadata:
        if name != "renamed-service":
            raise importlib.metadata.PackageNotFoundError(name)
        return installed

    monkeypatch.setattr(importlib.metadata, "metadata", metadata)
    monkeypatch.setattr(
        importlib.metadata, "packages_distributions", lambda: {PACKAGE: ["renamed-service"]}
    )

    assert project_info().version == installed["Version"]
