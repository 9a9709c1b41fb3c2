"""Users, in PostgreSQL."""

import psycopg


def add_user(connection: psycopg.Connection, email: str) -> int:
    row = connection.execute(
        "INSERT INTO users (email) VALUES (%s) RETURNING id", [email]
    ).fetchone()
    assert row is not None
    return int(row[0])
