"""Liveness and readiness.

Readiness runs the dependency checks the lifespan registered. A required dependency (the
database) that is down makes the app unavailable (503); an optional one (the cache, the
broker, the object store) that is down leaves it serving, degraded (200): taking every
replica out of the load balancer because the cache is down would turn a slower service into
an outage. The body says each dependency's status and nothing else (a 503 is a problem, as
every error is, listing them in `checks`); the reason goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.problems import (
    PROBLEM_TYPES,
    Problem,
    problem_response,
)

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[object]]

router = APIRouter(prefix="/health", tags=["health"])


@dataclass(frozen=True)
class Dependency:
    check: ReadinessCheck
    required: bool


class DependencyStatus(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unavailable"]
    checks: dict[str, DependencyStatus]


async def run_check(name: str, check: ReadinessCheck, limit_seconds: float) -> DependencyStatus:
    try:
        await asyncio.wait_for(check(), limit_seconds)
    except TimeoutError:
        logger.warning("readiness: %s did not answer within %gs", name, limit_seconds)
        return DependencyStatus.UNAVAILABLE
    except Exception as error:  # a readiness probe reports any failure, it never raises
        logger.warning("readiness: %s is unavailable: %s: %s", name, type(error).__name__, error)
        return DependencyStatus.UNAVAILABLE
    return DependencyStatus.OK


async def check_dependencies(
    dependencies: Mapping[str, Dependency], limit_seconds: float
) -> Readiness:
    results = await asyncio.gather(
        *(run_check(name, dep.check, limit_seconds) for name, dep in dependencies.items())
    )
    checks = dict(zip(dependencies, results, strict=True))
    down = {name for name, result in checks.items() if result != DependencyStatus.OK}
    if any(dependencies[name].required for name in down):
        return Readiness(status="unavailable", checks=checks)
    return Readiness(status="degraded" if down else "ready", checks=checks)


class NotReady(Problem):
    checks: dict[str, DependencyStatus]


@router.get("/live")
async def liveness() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": NotReady, "description": "a required dependency is down"}},
)
async def readiness(request: Request) -> Response:
    found = await check_dependencies(
        request.app.state.dependencies,
        request.app.state.settings.health_check_timeout_seconds,
    )
    if found.status != "unavailable":
        return JSONResponse(found.model_dump(mode="json"))
    down = [name for name, result in found.checks.items() if result != DependencyStatus.OK]
    problem = NotReady(
        type=PROBLEM_TYPES + "not-ready",
        title="Service Unavailable",
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"unavailable: {', '.join(down)}",
        checks=found.checks,
    )
    return problem_response(request, problem)
