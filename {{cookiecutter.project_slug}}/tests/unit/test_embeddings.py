import pytest
from pydantic import ValidationError
from sqlalchemy import select

from {{ cookiecutter.package_name }}.integrations.pgvector.embeddings import (
    EMBEDDING_DIMENSIONS,
    EmbeddingIn,
    UserEmbedding,
)

from tests.support.embeddings import random_embedding


def test_an_embedding_has_the_models_dimensions() -> None:
    assert len(EmbeddingIn(embedding=random_embedding()).embedding) == EMBEDDING_DIMENSIONS
    for size in (EMBEDDING_DIMENSIONS - 1, EMBEDDING_DIMENSIONS + 1):
        with pytest.raises(ValidationError, match="embedding"):
            EmbeddingIn(embedding=[1.0] * size)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e308, 1e39])
def test_an_embedding_holds_numbers_pgvector_can_keep(bad: float) -> None:
    with pytest.raises(ValidationError):
        EmbeddingIn(embedding=[bad, *random_embedding()[1:]])


@pytest.mark.parametrize("size", [0.0, 1e-30])
def test_a_vector_of_next_to_no_length_is_refused_it_has_no_direction(size: float) -> None:
    with pytest.raises(ValidationError, match="no direction"):
        EmbeddingIn(embedding=[size] * EMBEDDING_DIMENSIONS)


def test_the_nearest_are_found_by_the_cosine_distance_operator() -> None:
    query = select(UserEmbedding.user_id).order_by(
        UserEmbedding.embedding.cosine_distance(random_embedding())
    )

    assert "<=>" in str(query)
