"""Facet rollups: a workspace's distinct matched mentions per day and source kind, language,
site or author, and per hour in all, for the dashboard's total line, top lists and filter
menus. Filled from the mentions already stored (the same computation as
``flocon rollups rebuild``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facet_rollups",
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("facet", sa.String(20), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("sentiment", sa.String(10), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    from flocon.storage.migrations.facets_0008 import fill

    fill(op.get_bind())


def downgrade() -> None:
    op.drop_table("facet_rollups")
