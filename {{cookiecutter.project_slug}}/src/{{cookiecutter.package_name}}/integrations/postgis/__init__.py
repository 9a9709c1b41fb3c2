"""PostGIS: a location per user, and the users within a distance of one's.

The extension comes from a migration (`CREATE EXTENSION IF NOT EXISTS postgis`), so every
database migrated to head has it, whatever the image's own init scripts did; the PostgreSQL
image (compose.yaml's `postgres`) must ship it. Small and easy to delete: this package, its
migration and its tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.health import ReadinessCheck
from {{ cookiecutter.package_name }}.integrations.postgis.locations import UserLocation, router

__all__ = ["INTEGRATION", "UserLocation"]


class PostgisIntegration:
    name = "postgis"
    required = True  # part of the database
    routers: tuple[APIRouter, ...] = (router,)

    @asynccontextmanager
    async def lifespan(
        self, app: FastAPI, settings: Settings
    ) -> AsyncIterator[ReadinessCheck | None]:
        yield None  # no client of its own: its readiness is the database's


INTEGRATION = PostgisIntegration()
