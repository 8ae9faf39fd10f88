"""Alert rules, alerts, deliveries and the detectors' state.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _workspace() -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    )


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "watch_id", sa.Integer(), sa.ForeignKey("watches.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("group_name", sa.String(200), nullable=True),
        sa.Column("signals", sa.String(300), nullable=False),
        sa.Column("sensitivity", sa.String(10), nullable=False),
        sa.Column("min_severity", sa.String(10), nullable=False),
        sa.Column("channels", sa.Text(), nullable=True),
        sa.Column("channels_shown", sa.Text(), nullable=False),
        sa.Column("quiet_hours", sa.String(20), nullable=True),
        sa.Column("timezone", sa.String(60), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(10), nullable=False),
        _when("created_at"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_alert_rules_workspace_id"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        sa.Column(
            "watch_id", sa.Integer(), sa.ForeignKey("watches.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        _when("episode_start"),
        _when("detected_at"),
        _when("updated_at"),
        _when("closed_at", True),
        _when("acked_at", True),
        sa.Column("acked_by", sa.String(200), nullable=True),
        _when("resolved_at", True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id", "watch_id", "kind", "key", name="uq_alerts_workspace_id"
        ),
    )
    op.create_index("ix_alerts_status", "alerts", ["workspace_id", "status", "detected_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        sa.Column(
            "rule_id",
            sa.Integer(),
            sa.ForeignKey("alert_rules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("alert_ids", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _when("created_at"),
        _when("next_attempt_at", True),
        _when("sent_at", True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "signal_state",
        sa.Column(
            "watch_id",
            sa.Integer(),
            sa.ForeignKey("watches.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _when("evaluated_at"),
        sa.Column("state", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signal_state")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_alerts_status", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
