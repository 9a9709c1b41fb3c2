"""create user_embeddings, and the vector extension

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:03:00+00:00
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In the migration, not an init script: production databases get no init scripts, and
    # the test databases are clones of one migrated to head.
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "user_embeddings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.Vector(dim=384), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_embeddings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_embeddings")),
    )
    op.create_index(
        "ix_user_embeddings_embedding",
        "user_embeddings",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_user_embeddings_embedding", table_name="user_embeddings")
    op.drop_table("user_embeddings")
    op.execute("DROP EXTENSION IF EXISTS vector")
