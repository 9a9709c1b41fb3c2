"""Every error the API answers is a problem (RFC 9457): `application/problem+json` with a
stable `type` per kind of error, the offending fields in `errors` where there are any, and
the request's id, which its log lines carry too.

Routes raise a `ProblemError` subclass; HTTP errors without one (an unknown path, a wrong
method) are `about:blank` problems; validation errors are `validation-error` problems (the
first MAX_LISTED_ERRORS of them, and how many there were); a body over the limit is a 413
`request-too-large` answered before it is read; a database that cannot serve is a 503
`database-unavailable` with `Retry-After`, logged once per outage; any other exception is
logged with its traceback and answered as an `internal-error` problem that says nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Schema
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.db import database_unavailable
from {{ cookiecutter.package_name }}.logs import (
    REQUEST_ID_HEADER,
    request_id,
    request_id_from,
)
from {{ cookiecutter.package_name }}.outages import Outage

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMAS = "#/components/schemas/"
PROBLEM_TYPES = "/problems/"  # + the kind: a stable identifier, relative to the API's base URL
# A 422 lists this many errors at most (a body can hold thousands), and says how many.
MAX_LISTED_ERRORS = 20
# What a 503 asks clients to wait before they try again.
RETRY_AFTER_SECONDS = 5


class FieldError(BaseModel):
    location: str = Field(examples=["body"])  # body, path, query or header
    field: str = Field(examples=["email"])  # dotted for nested fields; "" for the whole body
    message: str


class Problem(BaseModel):
    type: str = Field(examples=[f"{PROBLEM_TYPES}user-not-found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request's path.")
    request_id: str | None = Field(default=None, description="Its log lines carry it too.")
    errors: list[FieldError] = Field(default_factory=list)
    error_count: int | None = Field(
        default=None,
        description=f"How many errors the request had: `errors` lists {MAX_LISTED_ERRORS} at most.",
    )


class ProblemError(Exception):
    """An error a client can act on; subclasses name its status, kind and title."""

    status: ClassVar[int]
    kind: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


def problem_response(
    request: Request, problem: Problem, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """`problem` about this request: its path and its id added."""
    about_request = {"instance": request.url.path, "request_id": request_id.get()}
    return JSONResponse(
        problem.model_copy(update=about_request).model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def problem_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    problem = Problem(
        type=PROBLEM_TYPES + error.kind,
        title=error.title,
        status=error.status,
        detail=error.detail,
        errors=error.errors,
    )
    return problem_response(request, problem)


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    problem = Problem(
        type="about:blank",
        title=HTTPStatus(error.status_code).phrase,
        status=error.status_code,
        detail=error.detail if error.detail != HTTPStatus(error.status_code).phrase else None,
    )
    return problem_response(request, problem, error.headers)


def field_error(error: dict[str, Any]) -> FieldError:
    location, *path = error["loc"]
    return FieldError(
        location=str(location),
        field=".".join(str(part) for part in path),
        message=str(error["msg"]),
    )


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    found = error.errors()
    errors = [field_error(e) for e in found[:MAX_LISTED_ERRORS]]
    detail = "; ".join(f"{e.field or e.location}: {e.message}" for e in errors)
    if len(found) > len(errors):
        detail += f" (and {len(found) - len(errors)} more)"
    problem = Problem(
        type=PROBLEM_TYPES + "validation-error",
        title="Invalid request",
        status=422,
        detail=detail,
        errors=errors,
        error_count=len(found),
    )
    return problem_response(request, problem)


DATABASE_UNAVAILABLE = Problem(
    type=PROBLEM_TYPES + "database-unavailable",
    title="Service Unavailable",
    status=503,
    detail="The database cannot serve this request now; try again later.",
)


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """A database that cannot serve is a 503 clients may retry, logged once per outage; any
    other database error is a bug, for the 500 path."""
    if not database_unavailable(error):
        raise error
    outage: Outage = request.app.state.database_outage
    outage.failed(error)
    return problem_response(
        request, DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


INTERNAL_ERROR = Problem(
    type=PROBLEM_TYPES + "internal-error",
    title="Internal Server Error",
    status=500,
    detail="The request failed on our side; the request id finds it in the logs.",
)


class RequestContextMiddleware:
    """Gives each request its id (echoed in `X-Request-ID`) and turns an exception no
    handler took into an `internal-error` problem, logged with its traceback and the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        current = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        token = request_id.set(current)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), current.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error in %s %s", request.method, request.url.path)
            if started:  # too late for a problem: the server ends the response
                raise
            response = problem_response(request, INTERNAL_ERROR)
            await response(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def install_problems(app: FastAPI) -> None:
    app.state.database_outage = Outage(logger, "the database", meanwhile="answering 503")
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(ProblemError, problem_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeoutError, database_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems a route answers. They refer to the Problem schema
    (as_problem_documents adds it) rather than name it as a `model`: FastAPI builds a pydantic
    adapter for each model response of each route in every app it serves, most of what a
    fresh app's first requests cost (an app per test)."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMAS + "Problem"}}},
        }
        for status in statuses
    }


def problem_schemas() -> dict[str, Any]:
    """The Problem schema and those it refers to, as FastAPI writes a model's components."""
    _, schemas = models_json_schema(
        [(Problem, "serialization")], ref_template=PROBLEM_SCHEMAS + "{model}"
    )
    return {
        name: jsonable_encoder(Schema(**schema), by_alias=True, exclude_none=True)
        for name, schema in schemas["$defs"].items()
    }


def as_problem_documents(openapi: dict[str, Any]) -> dict[str, Any]:
    """Document every 4xx/5xx answer under application/problem+json, the type it is sent as
    (FastAPI documents a response model under the route's own media type), and add the
    Problem schema the routes' problem responses refer to."""
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    components = openapi.setdefault("components", {})
    schemas = {**components.get("schemas", {}), **problem_schemas()}
    components["schemas"] = dict(sorted(schemas.items()))
    return openapi
