"""Rollups: mention counts per watch and time bucket, maintained at write time.

The table is filled from the mentions already stored, so an upgraded database has its
rollups at once (the same computation as ``flocon rollups rebuild``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollups",
        sa.Column(
            "watch_id",
            sa.Integer(),
            sa.ForeignKey("watches.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bucket_s", sa.Integer(), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("sentiment", sa.String(10), primary_key=True),
        sa.Column("source_kind", sa.String(50), primary_key=True),
        sa.Column("lang", sa.String(20), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    from flocon.storage.queries.rollups import rebuild_all

    rebuild_all(op.get_bind())


def downgrade() -> None:
    op.drop_table("rollups")
