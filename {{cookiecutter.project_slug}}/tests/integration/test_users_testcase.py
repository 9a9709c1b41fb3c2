"""The users API written as unittest TestCases: runs under `python -m unittest` and pytest."""

from tests.support.factories import UserFactory, create
from tests.support.testcase import IntegrationTestCase


class UsersApiTest(IntegrationTestCase):
    async def test_create_user_returns_201_with_the_user(self) -> None:
        response = await self.client.post(
            "/users", json={"email": "Ada@Example.com", "full_name": "Ada"}
        )

        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["email"], "ada@example.com")

    async def test_duplicate_email_is_409(self) -> None:
        await create(UserFactory, self.session, email="ada@example.com")

        response = await self.client.post(
            "/users", json={"email": "ADA@example.com", "full_name": "Other"}
        )

        self.assertEqual(response.status_code, 409)

    async def test_get_user_and_404(self) -> None:
        user = await create(UserFactory, self.session, email="grace@example.com")

        found = await self.client.get(f"/users/{user.id}")
        missing = await self.client.get(f"/users/{user.id + 1000}")

        self.assertEqual((found.status_code, found.json()["email"]), (200, "grace@example.com"))
        self.assertEqual(missing.status_code, 404)

    async def test_each_test_starts_from_an_empty_table(self) -> None:
        # Every other test here leaves users behind in its transaction; none is visible.
        response = await self.client.get("/users")

        self.assertEqual(response.json()["items"], [])
