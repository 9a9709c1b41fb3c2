"""The bare baseline of the service benchmark (bench only): the generated app's SQL for its
users routes behind FastAPI and SQLAlchemy, with nothing else (no middleware, outbox, cache,
logging or settings). Served by uvicorn exactly as the generated app is.

    BENCH_DATABASE_URL=postgresql+psycopg://... uvicorn bare_app:app
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=5, max_overflow=10)
COLUMNS = "id, email, full_name, created_at, updated_at"
INSERT = f"INSERT INTO users (email, full_name) VALUES (:email, :name) RETURNING {COLUMNS}"


class UserIn(BaseModel):
    email: str
    full_name: str


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    created_at: datetime
    updated_at: datetime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/health/live")
async def live() -> dict[str, str]:  # what the bench waits for, as for the generated app
    return {"status": "ok"}


def user(row: Any) -> UserOut:
    return UserOut.model_validate(row._mapping)


@app.post("/users", status_code=201)
async def create_user(data: UserIn) -> UserOut:
    async with engine.begin() as connection:
        inserted = await connection.execute(
            text(INSERT),
            {"email": data.email, "name": data.full_name},
        )
        return user(inserted.one())


@app.get("/users/{user_id}")
async def read_user(user_id: int) -> UserOut:
    async with engine.connect() as connection:
        found = await connection.execute(
            text(f"SELECT {COLUMNS} FROM users WHERE id = :id"), {"id": user_id}
        )
        row = found.one_or_none()
    if row is None:
        raise HTTPException(404)
    return user(row)


@app.get("/users")
async def list_users(limit: int = 20) -> dict[str, Any]:
    async with engine.connect() as connection:
        found = await connection.execute(
            text(f"SELECT {COLUMNS} FROM users ORDER BY id LIMIT :limit"), {"limit": limit + 1}
        )
        rows = found.all()
    return {"items": [user(row) for row in rows[:limit]], "next_cursor": None}
