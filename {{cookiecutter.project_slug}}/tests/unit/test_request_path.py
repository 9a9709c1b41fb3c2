"""What every request pays for, kept cheap."""

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute

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
