"""What every request pays for, kept cheap."""

import gc
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute

from {{ cookiecutter.package_name }} import serve
from {{ cookiecutter.package_name }}.main import create_app


def dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from dependencies(dependency)


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The app's routes, through included routers (which FastAPI 0.165 keeps as such; the
    `assert routes` below notices if it ever keeps them otherwise)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif isinstance(included := getattr(route, "original_router", None), APIRouter):
            yield from api_routes(included.routes)


def test_no_route_waits_on_the_thread_pool_for_a_dependency() -> None:
    """FastAPI runs a plain `def` dependency in its thread pool: a thread hop per request."""
    routes = list(api_routes(create_app().routes))
    in_thread_pool = {
        f"{route.path}: {call.__qualname__}"
        for route in routes
        for call in dependencies(route.dependant)
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    }
    assert routes
    assert in_thread_pool == set()


def test_the_served_app_is_out_of_the_garbage_collectors_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full collection pauses every request while it walks each object it tracks; what the
    app holds for its life is frozen before it serves, so the walks cover only what requests
    create."""
    when_served: list[tuple[int, int]] = []

    def run(app: object, **options: object) -> None:
        when_served.append((gc.get_freeze_count(), len(gc.get_objects())))

    monkeypatch.setattr("signal.signal", lambda *handling: None)
    monkeypatch.setattr("uvicorn.run", run)
    try:
        serve.main(["--port", "0"])
    finally:
        gc.unfreeze()

    [(frozen, walked)] = when_served
    assert frozen > 10 * walked
