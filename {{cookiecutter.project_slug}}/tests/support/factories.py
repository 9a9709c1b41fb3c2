"""factory_boy factories. They build objects; `create` persists one through an async session,
e.g. `user = await create(UserFactory, db_session, full_name="Ada")`.
"""

from __future__ import annotations

from typing import Any

from factory.base import Factory
from factory.declarations import Sequence
from factory.faker import Faker
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.users.models import User


class UserFactory(Factory[User]):
    class Meta:
        model = User

    email = Sequence(lambda n: f"user{n}@example.com")
    full_name = Faker("name")


async def create[T](factory_class: type[Factory[T]], session: AsyncSession, **fields: Any) -> T:
    """Build with the factory, add to the session and flush, so the row has its id."""
    instance: T = factory_class.build(**fields)
    session.add(instance)
    await session.flush()
    return instance
