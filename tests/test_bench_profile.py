"""The service benchmark's reading of py-spy's profile of the app."""

from pathlib import Path

from bench.service import hottest


def test_samples_are_counted_where_they_were_running_greenlet_stacks_included(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "raw.txt"
    profile.write_text(
        "run (uvicorn/server.py:86);handle (acme_users/users/router.py:95);"
        "execute (sqlalchemy/orm/session.py:2555) 3\n"
        # A statement SQLAlchemy ran in a greenlet: py-spy records it as a stack of its own.
        "execute (sqlalchemy/orm/session.py:2555);wait (psycopg/waiting.py:362) 1\n"
    )

    by_package = hottest(profile).splitlines()[1:3]

    assert by_package == [" 75.0%  sqlalchemy", " 25.0%  psycopg"]
