import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.users.schemas import UserCreate, UserUpdate


def test_email_is_lower_cased_and_name_stripped() -> None:
    user = UserCreate(email="Ada@Example.COM", full_name="  Ada Lovelace ")
    assert (user.email, user.full_name) == ("ada@example.com", "Ada Lovelace")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "full_name": "Ada"}, "email"),
        ({"full_name": "Ada"}, "email"),
        ({"email": "ada@example.com"}, "full_name"),
        ({"email": "ada@example.com", "full_name": ""}, "full_name"),
        ({"email": "ada@example.com", "full_name": "Ada\x00"}, "full_name"),
        ({"email": "ada@example.com", "full_name": "Ada", "is_admin": True}, "is_admin"),
    ],
)
def test_invalid_create_payload_names_the_field(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        UserCreate.model_validate(payload)
    assert [error["loc"] for error in raised.value.errors()] == [(field,)]


def test_update_keeps_only_the_fields_sent() -> None:
    update = UserUpdate.model_validate({"full_name": "Ada King"})
    assert update.model_dump(exclude_unset=True) == {"full_name": "Ada King"}


@pytest.mark.parametrize("field", ["email", "full_name"])
def test_update_refuses_null_for_a_field_that_cannot_be_empty(field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        UserUpdate.model_validate({field: None})
    assert [error["loc"] for error in raised.value.errors()] == [(field,)]
