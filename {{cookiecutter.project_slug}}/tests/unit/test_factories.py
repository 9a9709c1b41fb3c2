import pytest

from tests.support.factories import UserFactory


def test_factory_boy_create_refuses_rather_than_return_unsaved_users() -> None:
    with pytest.raises(TypeError, match=r"await create\(UserFactory, session"):
        UserFactory.create()
    with pytest.raises(TypeError, match=r"await create_batch\(UserFactory, session, size"):
        UserFactory.create_batch(2)


def test_build_makes_users_without_saving() -> None:
    user = UserFactory.build(full_name="Ada")
    assert user.full_name == "Ada"
    assert getattr(user, "id", None) is None
