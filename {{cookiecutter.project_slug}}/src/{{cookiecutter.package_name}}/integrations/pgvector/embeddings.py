"""Users' embeddings (a `vector` column) and the nearest ones by cosine distance, which an
HNSW index serves: PUT /users/{user_id}/embedding, GET /users/{user_id}/similar."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pgvector.sqlalchemy import Vector
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import ForeignKey, Index, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db import Base, SessionDep
from {{ cookiecutter.package_name }}.problems import ProblemError, problem_responses
from {{ cookiecutter.package_name }}.users.models import User
from {{ cookiecutter.package_name }}.users.router import ValidUserDep
from {{ cookiecutter.package_name }}.users.schemas import UserPublic

# The size of the embedding model's vectors (all-MiniLM-L6-v2's here): the column's type,
# so a change is a migration.
EMBEDDING_DIMENSIONS = 384
FLOAT4_MAX = 3.4028234663852886e38  # pgvector keeps single-precision numbers
MIN_NORM = 1e-6  # shorter vectors have no direction worth comparing (models return length 1)


class UserEmbedding(Base):
    __tablename__ = "user_embeddings"
    __table_args__ = (
        Index(
            "ix_user_embeddings_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSIONS))


class EmbeddingIn(BaseModel):
    embedding: Annotated[
        list[Annotated[float, Field(allow_inf_nan=False, ge=-FLOAT4_MAX, le=FLOAT4_MAX)]],
        Field(min_length=EMBEDDING_DIMENSIONS, max_length=EMBEDDING_DIMENSIONS),
    ]

    @field_validator("embedding")
    @classmethod
    def has_a_direction(cls, embedding: list[float]) -> list[float]:
        if math.hypot(*embedding) < MIN_NORM:
            raise ValueError(f"a vector shorter than {MIN_NORM} has no direction to compare")
        return embedding


class SimilarUser(BaseModel):
    user: UserPublic
    distance: float = Field(description="Cosine distance: 0 is the same direction, 2 opposite.")


class EmbeddingNotFound(ProblemError):
    status = status.HTTP_404_NOT_FOUND
    kind = "embedding-not-found"
    title = "No embedding"


async def set_embedding(*, session: AsyncSession, user_id: int, embedding: list[float]) -> None:
    statement = insert(UserEmbedding).values(user_id=user_id, embedding=embedding)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[UserEmbedding.user_id], set_={"embedding": statement.excluded.embedding}
        )
    )


async def nearest_users(
    *, session: AsyncSession, user_id: int, limit: int
) -> list[tuple[User, float]] | None:
    """The `limit` other users nearest to `user_id`'s embedding, nearest first; None if it
    has none."""
    embedding = await session.scalar(
        select(UserEmbedding.embedding).where(UserEmbedding.user_id == user_id)
    )
    if embedding is None:
        return None
    distance = UserEmbedding.embedding.cosine_distance(embedding)
    rows = await session.execute(
        select(User, distance)
        .join(UserEmbedding, UserEmbedding.user_id == User.id)
        .where(User.id != user_id)
        .order_by(distance)
        .limit(limit)
    )
    return [(user, float(found)) for user, found in rows]


router = APIRouter(prefix="/users/{user_id}", tags=["users"])


@router.put(
    "/embedding",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 404, 413, 422, 503),
)
async def put_embedding(data: EmbeddingIn, user: ValidUserDep, session: SessionDep) -> Response:
    await set_embedding(session=session, user_id=user.id, embedding=data.embedding)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/similar", response_model=list[SimilarUser], responses=problem_responses(404, 422, 503)
)
async def similar_users(
    user: ValidUserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[SimilarUser]:
    found = await nearest_users(session=session, user_id=user.id, limit=limit)
    if found is None:
        raise EmbeddingNotFound(f"user {user.id} has no embedding")
    return [
        SimilarUser(user=UserPublic.model_validate(other), distance=distance)
        for other, distance in found
    ]
