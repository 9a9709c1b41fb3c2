import random

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.embeddings import UserEmbeddingFactory, blend, random_embedding
from tests.support.factories import UserFactory, create, create_batch

pytestmark = pytest.mark.integration


async def test_the_extension_is_in_this_workers_database(db_session: AsyncSession) -> None:
    version = await db_session.scalar(
        text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    )
    assert version is not None


async def test_similar_users_are_the_nearest_first(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    rng = random.Random(7)
    me, near, nearer, far = await create_batch(UserFactory, db_session, 4)
    mine = random_embedding(rng)
    elsewhere = random_embedding(rng)
    response = await client.put(f"/users/{me.id}/embedding", json={"embedding": mine})
    for user, weight in ((near, 0.6), (nearer, 0.9), (far, 0.1)):
        await create(
            UserEmbeddingFactory,
            db_session,
            user_id=user.id,
            embedding=blend(mine, elsewhere, weight),
        )

    similar = await client.get(f"/users/{me.id}/similar", params={"limit": 2})

    assert response.status_code == 204
    assert similar.status_code == 200
    found = similar.json()
    assert [item["user"]["id"] for item in found] == [nearer.id, near.id]
    assert 0 <= found[0]["distance"] < found[1]["distance"]


async def test_a_new_embedding_replaces_the_old_one(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    me, other = await create_batch(UserFactory, db_session, 2)
    theirs = random_embedding()
    await create(UserEmbeddingFactory, db_session, user_id=other.id, embedding=theirs)
    await client.put(f"/users/{me.id}/embedding", json={"embedding": random_embedding()})

    await client.put(f"/users/{me.id}/embedding", json={"embedding": theirs})
    similar = await client.get(f"/users/{me.id}/similar")

    assert similar.json()[0]["user"]["id"] == other.id
    assert similar.json()[0]["distance"] == pytest.approx(0, abs=1e-6)


async def test_a_user_without_an_embedding_is_404_and_a_wrong_size_422(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    me = await create(UserFactory, db_session)

    missing = await client.get(f"/users/{me.id}/similar")
    wrong_size = await client.put(f"/users/{me.id}/embedding", json={"embedding": [1.0, 2.0]})

    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/embedding-not-found")
    assert wrong_size.status_code == 422
