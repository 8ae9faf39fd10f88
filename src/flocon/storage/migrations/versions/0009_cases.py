"""The shared inbox: cases with their timeline, notes, replies, tags and presence; saved
replies, inbox settings (business hours, SLA), posting accounts, inbox rules and moderation
actions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(name: str, target: str, ondelete: str, *, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable
    )


def _workspace() -> sa.Column[int]:
    return _fk("workspace_id", "workspaces.id", "CASCADE", nullable=False)


def _case() -> sa.Column[int]:
    return _fk("case_id", "cases.id", "CASCADE", nullable=False)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable, server_default=default)


def _str(name: str, size: int, nullable: bool = True, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.String(size), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _fk("mention_id", "mentions.id", "SET NULL"),
        _str("scope", 10, False, "mention"),
        _str("status", 10, False, "new"),
        _text("ignored_reason"),
        _str("priority", 10, False, "normal"),
        _fk("assignee_id", "users.id", "SET NULL"),
        _fk("watch_id", "watches.id", "SET NULL"),
        _str("channel", 50, False, ""),
        _str("lang", 20),
        _str("origin", 10, False, "manual"),
        _text("title", False, ""),
        sa.Column("risk", sa.Float(), nullable=False, server_default="0"),
        _text("risk_factors", False, "{}"),
        _when("created_at"),
        _str("created_by", 320),
        _when("updated_at"),
        _when("first_response_at", True),
        _when("resolved_at", True),
        _when("first_response_due_at", True),
        _when("resolution_due_at", True),
        _when("escalated_at", True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.UniqueConstraint("workspace_id", "mention_id"),
    )
    op.create_index("ix_cases_inbox", "cases", ["workspace_id", "status", "risk"])
    op.create_index("ix_cases_assignee", "cases", ["assignee_id", "status"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        _case(),
        _when("at"),
        _fk("user_id", "users.id", "SET NULL"),
        _str("actor", 320, False),
        _str("kind", 20, False),
        _text("details", False, "{}"),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _case(),
        _fk("user_id", "users.id", "SET NULL"),
        _str("author", 320, False),
        _text("text", False),
        _text("mentioned", False, "[]"),
        _when("created_at"),
    )
    op.create_index("ix_case_notes_case", "case_notes", ["case_id", "id"])
    op.create_table(
        "case_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        _case(),
        _fk("mention_id", "mentions.id", "SET NULL"),
        _fk("user_id", "users.id", "SET NULL"),
        _str("author", 320, False),
        _text("text", False),
        _str("mode", 10, False),
        _str("status", 10, False),
        _text("url"),
        _str("external_id", 500),
        _text("error"),
        sa.Column("retryable", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _text("tone"),
        _when("created_at"),
        _when("updated_at"),
        _when("sent_at", True),
    )
    op.create_index("ix_case_replies_case", "case_replies", ["case_id", "id"])
    op.create_table(
        "case_tags",
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("cases.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(100), primary_key=True),
        _workspace(),
    )
    op.create_index("ix_case_tags_tag", "case_tags", ["workspace_id", "tag"])
    op.create_table(
        "case_presence",
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("cases.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _str("activity", 10, False),
        _when("at"),
    )
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _str("name", 200, False),
        _str("lang", 10, False),
        _text("text", False),
        _str("created_by", 320),
        _when("created_at"),
        _when("updated_at"),
        sa.UniqueConstraint("workspace_id", "name", "lang"),
    )
    op.create_table(
        "inbox_settings",
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _text("business_hours", False, "{}"),
        _text("sla", False, "{}"),
        sa.Column("suggest", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("last_mention_id", sa.Integer(), nullable=True),
        _when("updated_at"),
    )
    op.create_table(
        "posting_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _str("platform", 50, False),
        _str("name", 200, False),
        _text("base_url", False),
        _text("credentials"),
        _str("created_by", 320),
        _when("created_at"),
        sa.UniqueConstraint("workspace_id", "platform", "name"),
    )
    op.create_table(
        "inbox_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _str("name", 200, False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        _text("conditions", False, "{}"),
        _text("actions", False, "{}"),
        _str("created_by", 320),
        _when("created_at"),
        _when("updated_at"),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _fk("mention_id", "mentions.id", "SET NULL"),
        _str("action", 10, False),
        _text("reason"),
        _str("status", 10, False),
        _text("error"),
        _fk("user_id", "users.id", "SET NULL"),
        _str("actor", 320, False),
        _when("at"),
    )
    op.create_index("ix_moderation_mention", "moderation_actions", ["workspace_id", "mention_id"])


def downgrade() -> None:
    op.drop_index("ix_moderation_mention", table_name="moderation_actions")
    for table in (
        "moderation_actions",
        "inbox_rules",
        "posting_accounts",
        "inbox_settings",
        "saved_replies",
        "case_presence",
    ):
        op.drop_table(table)
    op.drop_index("ix_case_tags_tag", table_name="case_tags")
    op.drop_table("case_tags")
    op.drop_index("ix_case_replies_case", table_name="case_replies")
    op.drop_table("case_replies")
    op.drop_index("ix_case_notes_case", table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_assignee", table_name="cases")
    op.drop_index("ix_cases_inbox", table_name="cases")
    op.drop_table("cases")
