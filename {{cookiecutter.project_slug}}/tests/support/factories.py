"""factory_boy factories. They build objects; `create` and `create_batch` save them through an
async session, e.g. `user = await create(UserFactory, db_session, full_name="Ada")`.
"""

from __future__ import annotations

from typing import Any

from factory.base import Factory
from factory.declarations import Sequence
from factory.faker import Faker
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.users.models import User


class AsyncSessionFactory[T](Factory[T]):
    """A factory for a model saved through an `AsyncSession`. factory_boy's `create()` and
    `create_batch()` cannot await a flush, so they refuse instead of returning unsaved objects;
    `await create(...)` and `await create_batch(...)` below save.

    A model with a foreign key but no relationship gets its parent's id as a field:
    `order = await create(OrderFactory, db_session, user_id=user.id)`."""

    @classmethod
    def _create(cls, model_class: type[T], *args: Any, **kwargs: Any) -> T:
        raise TypeError(
            f"{cls.__name__}.create() cannot save through an async session: use "
            f"`await create({cls.__name__}, session, ...)` or "
            f"`await create_batch({cls.__name__}, session, size, ...)` from tests.support.factories"
        )


class UserFactory(AsyncSessionFactory[User]):
    class Meta:
        model = User

    email = Sequence(lambda n: f"user{n}@example.com")
    full_name = Faker("name")


async def create[T](factory_class: type[Factory[T]], session: AsyncSession, **fields: Any) -> T:
    """Build with the factory, add to the session and flush, so the row has its id."""
    [instance] = await create_batch(factory_class, session, 1, **fields)
    return instance


async def create_batch[T](
    factory_class: type[Factory[T]], session: AsyncSession, size: int, **fields: Any
) -> list[T]:
    """`size` objects built with the factory, saved in one flush."""
    instances: list[T] = factory_class.build_batch(size, **fields)
    session.add_all(instances)
    await session.flush()
    return instances
