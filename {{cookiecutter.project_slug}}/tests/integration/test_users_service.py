import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.users import service
from {{ cookiecutter.package_name }}.users.models import User
from {{ cookiecutter.package_name }}.users.schemas import UserCreate, UserUpdate

from tests.support.factories import UserFactory, create, create_batch

pytestmark = pytest.mark.integration


async def test_created_user_is_stored(db_session: AsyncSession) -> None:
    created = await service.create_user(
        session=db_session, data=UserCreate(email="ada@example.com", full_name="Ada")
    )
    db_session.expunge_all()

    stored = await service.get_user(session=db_session, user_id=created.id)

    assert stored is not None
    assert (stored.email, stored.full_name) == ("ada@example.com", "Ada")


async def test_unique_email_is_enforced_by_the_database(db_session: AsyncSession) -> None:
    await create(UserFactory, db_session, email="ada@example.com")

    with pytest.raises(service.EmailAlreadyRegisteredError):
        await service.create_user(
            session=db_session, data=UserCreate(email="ada@example.com", full_name="Twin")
        )

    # The refused create inserted nothing and left the transaction usable.
    count = await db_session.scalar(select(func.count()).select_from(User))
    assert count == 1


async def test_a_create_sends_one_statement(db_session: AsyncSession) -> None:
    """Every POST /users pays for what the create sends: its INSERT alone, no savepoint."""
    sent: list[str] = []

    def record(connection: object, cursor: object, statement: str, *_: object) -> None:
        sent.append(statement.split()[0])

    connection = (await db_session.connection()).sync_connection
    assert connection is not None
    event.listen(connection, "before_cursor_execute", record)
    try:
        await service.create_user(
            session=db_session, data=UserCreate(email="ada@example.com", full_name="Ada")
        )
        with pytest.raises(service.EmailAlreadyRegisteredError):
            await service.create_user(
                session=db_session, data=UserCreate(email="ada@example.com", full_name="Twin")
            )
    finally:
        event.remove(connection, "before_cursor_execute", record)

    assert sent == ["INSERT", "INSERT"]


async def test_update_to_a_taken_email_is_refused(db_session: AsyncSession) -> None:
    user = await create(UserFactory, db_session)
    taken = await create(UserFactory, db_session)

    with pytest.raises(service.EmailAlreadyRegisteredError):
        await service.update_user(session=db_session, user=user, data=UserUpdate(email=taken.email))


@pytest.mark.parametrize("attempt", [1, 2])
async def test_commits_do_not_leak_between_tests(db_session: AsyncSession, attempt: int) -> None:
    # Both runs commit the same email; without the rollback the second one would conflict.
    await service.create_user(
        session=db_session, data=UserCreate(email="same@example.com", full_name=f"Run {attempt}")
    )
    await db_session.commit()
    assert len(await service.list_users(session=db_session, limit=10)) == 1


async def test_create_batch_saves_every_user(db_session: AsyncSession) -> None:
    users = await create_batch(UserFactory, db_session, 3)

    assert all(user.id is not None for user in users)
    assert len(await service.list_users(session=db_session, limit=10)) == 3
