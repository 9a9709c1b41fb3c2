"""create user_locations, and the postgis extension

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:03:00+00:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In the migration, not an init script: production databases get no init scripts, and
    # the test databases are clones of one migrated to head.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "user_locations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "position",
            geoalchemy2.Geography(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_locations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_locations")),
    )
    op.create_index(
        "ix_user_locations_position", "user_locations", ["position"], postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_user_locations_position", table_name="user_locations")
    op.drop_table("user_locations")
    op.execute("DROP EXTENSION IF EXISTS postgis")
