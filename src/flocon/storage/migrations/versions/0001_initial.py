"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the foundation schema, the full-text index and the default workspace."""
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("handle", sa.String(length=300), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_authors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
        sa.UniqueConstraint(
            "workspace_id", "platform", "key", name=op.f("uq_authors_workspace_id")
        ),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sources_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("workspace_id", "kind", "name", name=op.f("uq_sources_workspace_id")),
    )
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=True),
        sa.Column("langs", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_watches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_watches_workspace_id")),
    )
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("site", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_handle", sa.String(length=300), nullable=True),
        sa.Column("author_name", sa.String(length=300), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("parent_external_id", sa.String(length=500), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("duplicate_reason", sa.String(length=20), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("fts_config", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_mentions_author_id_authors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["mentions.id"],
            name=op.f("fk_mentions_duplicate_of_mentions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["mentions.id"],
            name=op.f("fk_mentions_parent_id_mentions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_mentions_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mentions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_mentions_source_id")),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentions_parent_external", ["source_id", "parent_external_id"], unique=False
        )
        batch_op.create_index(
            "ix_mentions_workspace_canonical_url", ["workspace_id", "canonical_url"], unique=False
        )
        batch_op.create_index(
            "ix_mentions_workspace_occurred", ["workspace_id", "occurred_at"], unique=False
        )

    op.create_table(
        "mention_bands",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mentions.id"],
            name=op.f("fk_mention_bands_mention_id_mentions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mention_bands_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("mention_bands", schema=None) as batch_op:
        batch_op.create_index("ix_mention_bands_lookup", ["workspace_id", "key"], unique=False)

    op.create_table(
        "mention_watches",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mentions.id"],
            name=op.f("fk_mention_watches_mention_id_mentions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watches.id"],
            name=op.f("fk_mention_watches_watch_id_watches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mention_id", "watch_id", name=op.f("pk_mention_watches")),
    )
    with op.batch_alter_table("mention_watches", schema=None) as batch_op:
        batch_op.create_index("ix_mention_watches_watch", ["watch_id", "mention_id"], unique=False)

    _create_full_text_search()
    op.execute(
        sa.text("INSERT INTO workspaces (name, created_at) VALUES ('default', CURRENT_TIMESTAMP)")
    )


def _create_full_text_search() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # External-content FTS5 index over the folded title + text, kept in step by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE mention_fts USING fts5(search_text, content='mentions', "
            "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN "
            "INSERT INTO mention_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN "
            "INSERT INTO mention_fts(mention_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER mentions_fts_update AFTER UPDATE OF search_text ON mentions BEGIN "
            "INSERT INTO mention_fts(mention_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO mention_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        # A tsvector per mention, stemmed in the mention's language (fts_config), on folded text.
        op.add_column("mentions", sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True))
        op.execute(
            "CREATE FUNCTION flocon_mentions_search_vector() RETURNS trigger AS $$ BEGIN "
            "NEW.search_vector := to_tsvector(NEW.fts_config::regconfig, NEW.search_text); "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER mentions_search_vector BEFORE INSERT OR UPDATE OF search_text, "
            "fts_config ON mentions FOR EACH ROW EXECUTE FUNCTION flocon_mentions_search_vector()"
        )
        op.create_index(
            "ix_mentions_search_vector", "mentions", ["search_vector"], postgresql_using="gin"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS mentions_fts_insert")
        op.execute("DROP TRIGGER IF EXISTS mentions_fts_delete")
        op.execute("DROP TRIGGER IF EXISTS mentions_fts_update")
        op.execute("DROP TABLE IF EXISTS mention_fts")
    else:
        op.execute("DROP TRIGGER IF EXISTS mentions_search_vector ON mentions")
        op.execute("DROP FUNCTION IF EXISTS flocon_mentions_search_vector()")
    with op.batch_alter_table("mention_watches", schema=None) as batch_op:
        batch_op.drop_index("ix_mention_watches_watch")

    op.drop_table("mention_watches")
    with op.batch_alter_table("mention_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_mention_bands_lookup")

    op.drop_table("mention_bands")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_workspace_occurred")
        batch_op.drop_index("ix_mentions_workspace_canonical_url")
        batch_op.drop_index("ix_mentions_parent_external")

    op.drop_table("mentions")
    op.drop_table("watches")
    op.drop_table("sources")
    op.drop_table("authors")
    op.drop_table("workspaces")
