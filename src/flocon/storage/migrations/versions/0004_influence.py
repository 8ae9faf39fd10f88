"""Author influence scores per watch (or per workspace), with their inputs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: nothing existing is moved or copied.
    op.create_table(
        "author_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "watch_id", sa.Integer(), sa.ForeignKey("watches.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "author_id",
            sa.Integer(),
            sa.ForeignKey("authors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("pagerank", sa.Float(), nullable=False),
        sa.Column("lift", sa.Float(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("engagement", sa.BigInteger(), nullable=False),
        sa.Column("replies_received", sa.Integer(), nullable=False),
        sa.Column("mentioned_by", sa.Integer(), nullable=False),
        sa.Column("shared_by", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(10), nullable=False),
        sa.Column("sentiment_mean", sa.Float(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_author_scores_scope", "author_scores", ["workspace_id", "watch_id", "score"]
    )
    op.create_index("ix_author_scores_author", "author_scores", ["author_id"])


def downgrade() -> None:
    op.drop_index("ix_author_scores_author", table_name="author_scores")
    op.drop_index("ix_author_scores_scope", table_name="author_scores")
    op.drop_table("author_scores")
