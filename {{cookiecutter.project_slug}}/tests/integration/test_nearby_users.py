import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.factories import UserFactory, create, create_batch
from tests.support.locations import PARIS, UserLocationFactory, north_of

pytestmark = pytest.mark.integration


async def test_the_extension_is_in_this_workers_database(db_session: AsyncSession) -> None:
    version = await db_session.scalar(
        text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    )
    assert version is not None


async def test_users_within_a_distance_are_the_nearest_first(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    me, near, nearer, far = await create_batch(UserFactory, db_session, 4)
    response = await client.put(f"/users/{me.id}/location", json=PARIS.model_dump())
    for user, meters in ((near, 800), (nearer, 300), (far, 5000)):
        position = north_of(PARIS, meters).as_point()
        await create(UserLocationFactory, db_session, user_id=user.id, position=position)

    nearby = await client.get(f"/users/{me.id}/nearby", params={"within_meters": 1000})

    assert response.status_code == 204
    assert nearby.status_code == 200
    found = nearby.json()
    assert [item["user"]["id"] for item in found] == [nearer.id, near.id]
    assert [item["distance_meters"] for item in found] == [
        pytest.approx(300, rel=0.01),
        pytest.approx(800, rel=0.01),
    ]


async def test_a_user_without_a_location_is_404_and_a_point_off_earth_422(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    me = await create(UserFactory, db_session)

    missing = await client.get(f"/users/{me.id}/nearby", params={"within_meters": 10})
    off_earth = await client.put(f"/users/{me.id}/location", json={"latitude": 95, "longitude": 0})

    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/location-not-found")
    assert off_earth.status_code == 422
