import psycopg

from guides_app import add_user


def test_a_user_gets_an_id(connection: psycopg.Connection) -> None:
    assert add_user(connection, "ada@example.com") > 0


def test_ids_grow(connection: psycopg.Connection) -> None:
    assert add_user(connection, "a@example.com") < add_user(connection, "b@example.com")
