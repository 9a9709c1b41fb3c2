"""Liveness and readiness; readiness runs every dependency check the lifespan registered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

ReadinessCheck = Callable[[], Awaitable[object]]

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


async def run_check(check: ReadinessCheck, limit_seconds: float) -> str:
    try:
        await asyncio.wait_for(check(), limit_seconds)
    except TimeoutError:
        return f"timeout after {limit_seconds:g}s"
    except Exception as error:  # a readiness probe reports any failure, it never raises
        return f"error: {type(error).__name__}: {error}"
    return "ok"


async def run_checks(checks: Mapping[str, ReadinessCheck], limit_seconds: float) -> dict[str, str]:
    results = await asyncio.gather(*(run_check(check, limit_seconds) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


@router.get("/live")
async def live() -> Liveness:
    return Liveness()


@router.get("/ready", responses={503: {"model": Readiness}})
async def ready(request: Request, response: Response) -> Readiness:
    results = await run_checks(
        request.app.state.readiness_checks,
        request.app.state.settings.health_check_timeout_seconds,
    )
    if all(result == "ok" for result in results.values()):
        return Readiness(status="ready", checks=results)
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status="unavailable", checks=results)
