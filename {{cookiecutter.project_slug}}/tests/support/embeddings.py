"""Embeddings for tests: random unit vectors, and a factory saving a user's embedding."""

from __future__ import annotations

import math
import random

from factory.declarations import LazyFunction

from {{ cookiecutter.package_name }}.integrations.pgvector.embeddings import (
    EMBEDDING_DIMENSIONS,
    UserEmbedding,
)

from tests.support.factories import AsyncSessionFactory


def random_embedding(rng: random.Random | None = None) -> list[float]:
    """A random direction, of unit length (the way embedding models return theirs)."""
    values = [(rng or random).gauss(0, 1) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(math.fsum(value * value for value in values))
    return [value / norm for value in values]


def blend(toward: list[float], away: list[float], weight: float) -> list[float]:
    """A direction between `away` (weight 0) and `toward` (weight 1)."""
    return [weight * a + (1 - weight) * b for a, b in zip(toward, away, strict=True)]


class UserEmbeddingFactory(AsyncSessionFactory[UserEmbedding]):
    """`await create(UserEmbeddingFactory, session, user_id=user.id)`."""

    class Meta:
        model = UserEmbedding

    embedding = LazyFunction(random_embedding)
