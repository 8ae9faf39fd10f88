"""Sources that are fetched: target, options, encrypted credentials, schedule, cursor, health.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("target", sa.Text(), {"nullable": False, "server_default": ""}),
    ("options", sa.Text(), {"nullable": False, "server_default": "{}"}),
    ("credentials", sa.Text(), {"nullable": True}),
    ("every_s", sa.Integer(), {"nullable": True}),
    ("paused", sa.Boolean(), {"nullable": False, "server_default": sa.false()}),
    ("cursor", sa.Text(), {"nullable": False, "server_default": "{}"}),
    ("next_run_at", sa.DateTime(timezone=True), {"nullable": True}),
    ("last_run_at", sa.DateTime(timezone=True), {"nullable": True}),
    ("last_success_at", sa.DateTime(timezone=True), {"nullable": True}),
    ("last_error", sa.Text(), {"nullable": True}),
    ("last_error_at", sa.DateTime(timezone=True), {"nullable": True}),
    ("failing_since", sa.DateTime(timezone=True), {"nullable": True}),
    ("consecutive_failures", sa.Integer(), {"nullable": False, "server_default": "0"}),
    ("last_items", sa.Integer(), {"nullable": False, "server_default": "0"}),
)


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: on SQLite a batch "move and copy" would drop the
    # sources table, and the foreign keys would cascade that to every mention.
    for name, type_, kw in _COLUMNS:
        op.add_column("sources", sa.Column(name, type_, **kw))
    op.create_index("ix_mentions_source_collected", "mentions", ["source_id", "collected_at"])


def downgrade() -> None:
    op.drop_index("ix_mentions_source_collected", table_name="mentions")
    for name, _, _ in reversed(_COLUMNS):
        # SQLite ≥ 3.35 and PostgreSQL both drop a column in place.
        op.execute(f"ALTER TABLE sources DROP COLUMN {name}")
