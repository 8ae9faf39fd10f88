"""Accounts of the web app (users, memberships, sessions, API tokens, password resets, login
failures, audit log), mention tags and mutes; indexes for the dashboard's top lists and for
threads (replies by parent); and corrections now set the mention's sentiment (existing ones
are applied, rollups rebuilt).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _workspace(nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=nullable,
    )


def _user(nullable: bool = False, ondelete: str = "CASCADE") -> sa.Column[int]:
    return sa.Column(
        "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable
    )


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("locale", sa.String(10), nullable=True),
        sa.Column("timezone", sa.String(60), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _when("created_at"),
        _when("last_login_at", nullable=True),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        _user(),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        sa.Column("user_agent", sa.String(300), nullable=True),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        _user(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
    )
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        _user(),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(400), nullable=False),
        _when("at"),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(nullable=True),
        _user(nullable=True, ondelete="SET NULL"),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(50), nullable=True),
        sa.Column("object_id", sa.String(300), nullable=True),
        sa.Column("details", sa.Text(), nullable=False, server_default="{}"),
        _when("at"),
    )
    op.create_index("ix_audit_log_workspace", "audit_log", ["workspace_id", "id"])
    op.create_table(
        "mention_tags",
        sa.Column(
            "mention_id",
            sa.Integer(),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(100), primary_key=True),
        _workspace(),
        _when("created_at"),
        sa.Column("created_by", sa.String(320), nullable=True),
    )
    op.create_index("ix_mention_tags_tag", "mention_tags", ["workspace_id", "tag"])
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        _when("created_at"),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.UniqueConstraint("workspace_id", "kind", "value"),
    )
    op.create_index(
        "ix_mentions_dashboard",
        "mentions",
        [
            "workspace_id",
            "occurred_at",
            "duplicate_of",
            "sentiment",
            "lang",
            "source_id",
            "site",
            "author_id",
        ],
    )
    # A thread's replies are read by parent (see tables.py).
    op.create_index("ix_mentions_parent", "mentions", ["parent_id"])
    # A correction is the team's truth: the mention shows it, and the rollups count it.
    bind = op.get_bind()
    corrected = bind.execute(sa.text("SELECT count(*) FROM sentiment_corrections")).scalar_one()
    if corrected:
        bind.execute(
            sa.text(
                "UPDATE mentions SET sentiment = (SELECT c.label FROM sentiment_corrections c "
                "WHERE c.mention_id = mentions.id) WHERE id IN "
                "(SELECT mention_id FROM sentiment_corrections)"
            )
        )
        from flocon.storage.queries.rollups import rebuild_all

        rebuild_all(bind)


def downgrade() -> None:
    op.drop_index("ix_mentions_parent", table_name="mentions")
    op.drop_index("ix_mentions_dashboard", table_name="mentions")
    for table in (
        "mutes",
        "mention_tags",
        "audit_log",
        "login_failures",
        "password_resets",
        "api_tokens",
        "web_sessions",
        "memberships",
        "users",
    ):
        op.drop_table(table)
