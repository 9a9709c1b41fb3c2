"""Autogenerate an Alembic revision against a throwaway PostgreSQL migrated to head: no
running database is needed, and the revision holds only what the models changed.

Run: uv run python -m tests.support.revision "create orders"
"""

from __future__ import annotations

import sys

from alembic import command

from tests.support.containers import start_reaper
from tests.support.databases import alembic_config
from tests.support.images import compose_images
from tests.support.services.postgres import SERVICE as POSTGRES


def generate_revision(message: str) -> None:
    start_reaper()
    with POSTGRES.container(compose_images()[POSTGRES.name], workers=1) as postgres:
        config = alembic_config(postgres.get_connection_url())
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


def main() -> int:
    message = " ".join(sys.argv[1:]).strip()
    if not message:
        print('usage: python -m tests.support.revision "what the revision does"', file=sys.stderr)
        return 2
    generate_revision(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
