"""Analysis results on mentions, the workspace's sentiment profile, sentiment corrections.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_MENTION_COLUMNS = (
    ("sentiment", sa.String(10), {"nullable": True}),
    ("sentiment_score", sa.Float(), {"nullable": True}),
    ("sentiment_confidence", sa.Float(), {"nullable": True}),
    ("needs_answer", sa.Boolean(), {"nullable": True}),
    ("needs_answer_score", sa.Float(), {"nullable": True}),
    ("lang_detected", sa.Boolean(), {"nullable": False, "server_default": sa.false()}),
    ("analyzed_at", sa.DateTime(timezone=True), {"nullable": True}),
    ("analysis_model", sa.String(100), {"nullable": True}),
)


def upgrade() -> None:
    # Plain ADD COLUMN (see 0002: never move-and-copy a table that others cascade from).
    for name, type_, kw in _MENTION_COLUMNS:
        op.add_column("mentions", sa.Column(name, type_, **kw))
    op.create_index("ix_mentions_workspace_analyzed", "mentions", ["workspace_id", "analyzed_at"])
    op.add_column("workspaces", sa.Column("sentiment_profile", sa.String(20), nullable=True))
    op.create_table(
        "sentiment_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("label", sa.String(10), nullable=False),
        sa.Column("previous", sa.String(10), nullable=True),
        sa.Column("corrected_by", sa.String(200), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("mention_id"),
    )
    op.create_index("ix_sentiment_corrections_workspace", "sentiment_corrections", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_sentiment_corrections_workspace", table_name="sentiment_corrections")
    op.drop_table("sentiment_corrections")
    op.execute("ALTER TABLE workspaces DROP COLUMN sentiment_profile")
    op.drop_index("ix_mentions_workspace_analyzed", table_name="mentions")
    for name, _, _ in reversed(_MENTION_COLUMNS):
        op.execute(f"ALTER TABLE mentions DROP COLUMN {name}")
