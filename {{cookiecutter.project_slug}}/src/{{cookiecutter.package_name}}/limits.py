"""The bound on a request's body: a larger one is a 413 `request-too-large` problem, answered
from its Content-Length before anything is read, or as soon as the bytes read pass the limit
(a body sent in chunks), so it never costs the app more than the limit in memory."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.problems import (
    PROBLEM_TYPES,
    Problem,
    problem_response,
)


class RequestTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {limit} bytes")
        self.limit = limit


def too_large(limit: int) -> Problem:
    return Problem(
        type=PROBLEM_TYPES + "request-too-large",
        title="Request body too large",
        status=status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"the body is over {limit} bytes",
    )


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(request, too_large(self.max_bytes))
            await response(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)  # the body parser lets it through
            return message

        await self.app(scope, receive_within_limit, send)


async def request_too_large(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestTooLarge)
    return problem_response(request, too_large(error.limit))


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Call before the problems' middleware is installed: the 413 then carries the request id."""
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_bytes)
    app.add_exception_handler(RequestTooLarge, request_too_large)
