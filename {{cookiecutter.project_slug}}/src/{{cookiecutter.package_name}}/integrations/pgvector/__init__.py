"""pgvector: an embedding per user, and the users whose embeddings are nearest to one's.

The extension comes from a migration (`CREATE EXTENSION IF NOT EXISTS vector`), so every
database migrated to head has it; the PostgreSQL image (compose.yaml's `postgres`) must ship
it. Small and easy to delete: this package, its migration and its tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.health import ReadinessCheck
from {{ cookiecutter.package_name }}.integrations.pgvector.embeddings import UserEmbedding, router

__all__ = ["INTEGRATION", "UserEmbedding"]


class PgvectorIntegration:
    name = "pgvector"
    required = True  # part of the database
    routers: tuple[APIRouter, ...] = (router,)

    @asynccontextmanager
    async def lifespan(
        self, app: FastAPI, settings: Settings
    ) -> AsyncIterator[ReadinessCheck | None]:
        yield None  # no client of its own: its readiness is the database's


INTEGRATION = PgvectorIntegration()
