import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.factories import UserFactory, create

pytestmark = pytest.mark.integration


async def test_create_user_returns_201_with_the_user(client: AsyncClient) -> None:
    response = await client.post("/users", json={"email": "Ada@Example.com", "full_name": "Ada"})

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["full_name"] == "Ada"
    assert isinstance(body["id"], int)


async def test_duplicate_email_is_409_naming_email(client: AsyncClient) -> None:
    first = await client.post("/users", json={"email": "ada@example.com", "full_name": "Ada"})
    second = await client.post("/users", json={"email": "ADA@example.com", "full_name": "Other"})

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["type"] == "/problems/email-taken"
    assert second.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    "payload",
    [{"email": "nope", "full_name": "Ada"}, {"full_name": "Ada"}, {"email": "ada@example.com"}],
)
async def test_invalid_payload_is_422(client: AsyncClient, payload: dict[str, str]) -> None:
    response = await client.post("/users", json=payload)
    assert response.status_code == 422


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_name_postgresql_cannot_store_is_422_naming_it(
    client: AsyncClient, db_session: AsyncSession, method: str
) -> None:
    user = await create(UserFactory, db_session)
    path = "/users" if method == "POST" else f"/users/{user.id}"

    response = await client.request(
        method, path, json={"email": "nul@example.com", "full_name": "Ada\x00Lovelace"}
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["full_name"]


async def test_get_user(client: AsyncClient, db_session: AsyncSession) -> None:
    user = await create(UserFactory, db_session, email="grace@example.com")

    found = await client.get(f"/users/{user.id}")
    missing = await client.get(f"/users/{user.id + 1000}")

    assert found.status_code == 200
    assert found.json()["email"] == "grace@example.com"
    assert missing.status_code == 404


async def pages(client: AsyncClient, limit: int) -> list[list[int]]:
    """Every page's ids, following the cursors from the first page."""
    found, after = [], None
    while True:
        params = {"limit": limit} | ({"after": after} if after else {})
        page = (await client.get("/users", params=params)).json()
        found.append([user["id"] for user in page["items"]])
        after = page["next_cursor"]
        if after is None:
            return found


async def test_list_pages_through_every_user_once(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    ids = [(await create(UserFactory, db_session)).id for _ in range(5)]

    assert await pages(client, limit=2) == [ids[:2], ids[2:4], ids[4:]]
    assert await pages(client, limit=5) == [ids]


async def test_a_user_removed_while_paging_shifts_no_one(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    users = [await create(UserFactory, db_session) for _ in range(4)]
    first = (await client.get("/users", params={"limit": 2})).json()

    await db_session.delete(users[0])
    await db_session.flush()
    second = (await client.get("/users", params={"limit": 2, "after": first["next_cursor"]})).json()

    assert [user["id"] for user in second["items"]] == [users[2].id, users[3].id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"after": "not a cursor"}, "after"),
        ({"after": "bm90LWFuLWlk"}, "after"),  # base64 of "not-an-id"
        ({"after": "MjE0NzQ4MzY0OA"}, "after"),  # base64 of 2**31: past the id column
    ],
)
async def test_list_refuses_pages_it_cannot_serve(
    client: AsyncClient, params: dict[str, int | str], field: str
) -> None:
    response = await client.get("/users", params=params)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize("user_id", [0, -1, 2**31, 2**63])
@pytest.mark.parametrize("method", ["GET", "PATCH"])
async def test_an_id_no_user_can_have_is_422(
    client: AsyncClient, method: str, user_id: int
) -> None:
    response = await client.request(method, f"/users/{user_id}", json={"full_name": "Ada"})

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["location"], error["field"]) == ("path", "user_id")


@pytest.mark.parametrize("written", ["+{id}", "%20{id}", "{id}%20", "0{id}", "{id}_0", "{id}.0"])
async def test_an_id_is_plain_decimal_digits(
    client: AsyncClient, db_session: AsyncSession, written: str
) -> None:
    user = await create(UserFactory, db_session)
    path = f"/users/{written.format(id=user.id)}"

    response = await client.get(path)

    assert response.status_code == 422, path
    error = response.json()["errors"][0]
    assert (error["location"], error["field"]) == ("path", "user_id")


@pytest.mark.parametrize("field", ["email", "full_name"])
async def test_patch_refuses_null_and_changes_nothing(
    client: AsyncClient, db_session: AsyncSession, field: str
) -> None:
    user = await create(UserFactory, db_session, email="ada@example.com", full_name="Ada")

    response = await client.patch(f"/users/{user.id}", json={field: None})
    after = await client.get(f"/users/{user.id}")

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["location"], error["field"]) == ("body", field)
    assert (after.json()["email"], after.json()["full_name"]) == ("ada@example.com", "Ada")


async def test_patch_user(client: AsyncClient, db_session: AsyncSession) -> None:
    user = await create(UserFactory, db_session, full_name="Ada")
    taken = await create(UserFactory, db_session, email="taken@example.com")

    renamed = await client.patch(f"/users/{user.id}", json={"full_name": "Ada King"})
    conflict = await client.patch(f"/users/{user.id}", json={"email": taken.email})
    missing = await client.patch(f"/users/{taken.id + 1000}", json={"full_name": "Nobody"})

    assert renamed.status_code == 200
    assert renamed.json()["full_name"] == "Ada King"
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["field"] == "email"
    assert missing.status_code == 404
