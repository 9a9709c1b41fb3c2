"""Autogenerate an Alembic revision against a throwaway PostgreSQL migrated to head: no
running database is needed, and the revision holds only what the models changed. Its id
continues the numbering (0001, 0002, ...), its file name starts with the date.

Run: uv run python -m tests.support.revision "create orders"
"""

from __future__ import annotations

import re
import sys

from alembic import command

from tests.support.containers import start_reaper
from tests.support.images import compose_images
from tests.support.services.postgres import PROJECT_ROOT, alembic_config
from tests.support.services.postgres import SERVICE as POSTGRES

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
REVISION = re.compile(r'^revision: str = "(?P<id>\d+)"$', re.MULTILINE)


def next_revision_id() -> str:
    """One more than the highest numbered revision."""
    found = (REVISION.search(path.read_text()) for path in VERSIONS.glob("*.py"))
    return f"{max((int(match['id']) for match in found if match), default=0) + 1:04d}"


def generate_revision(message: str) -> None:
    start_reaper()
    with POSTGRES.container(compose_images()[POSTGRES.name], workers=1) as postgres:
        config = alembic_config(postgres.get_connection_url())
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True, rev_id=next_revision_id())


def main() -> int:
    message = " ".join(sys.argv[1:]).strip()
    if not message:
        print('usage: python -m tests.support.revision "what the revision does"', file=sys.stderr)
        return 2
    generate_revision(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
