"""Facet rollups per scope (the workspace, each group, each watch) and split by source kind
and language, so that every filter of the dashboard reads them; a cache of emerging themes.
The facet rollups are recomputed from the mentions (as ``flocon rollups rebuild``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _workspace() -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.drop_table("facet_rollups")
    op.create_table(
        "facet_rollups",
        _workspace(),
        sa.Column("scope", sa.String(210), primary_key=True),
        sa.Column("facet", sa.String(20), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("sentiment", sa.String(10), primary_key=True),
        sa.Column("source_kind", sa.String(50), primary_key=True),
        sa.Column("lang", sa.String(20), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "theme_cache",
        _workspace(),
        sa.Column("scope_key", sa.String(64), primary_key=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("themes", sa.Text(), nullable=False),
    )
    from flocon.storage.queries.facets import rebuild_all

    rebuild_all(op.get_bind())


def downgrade() -> None:
    op.drop_table("theme_cache")
    op.drop_table("facet_rollups")
    op.create_table(
        "facet_rollups",
        _workspace(),
        sa.Column("facet", sa.String(20), primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("sentiment", sa.String(10), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    from flocon.storage.migrations.facets_0008 import fill

    fill(op.get_bind())
