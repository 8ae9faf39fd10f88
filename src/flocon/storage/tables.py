"""The database schema, as SQLAlchemy Core tables (portable between SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.sql.expression import true as sqltrue
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # "fast" or "accurate"; NULL follows the FLOCON_SENTIMENT_PROFILE setting.
    Column("sentiment_profile", String(20), nullable=True),
)

watches = Table(
    "watches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("query", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("group_name", String(200), nullable=True),
    Column("langs", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(50), nullable=False),
    Column("name", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # What to read (a URL, a query, "watches"...); empty for file imports.
    Column("target", Text, nullable=False, server_default=""),
    Column("options", Text, nullable=False, server_default="{}"),
    # Fernet token of the JSON credentials; never shown, never logged.
    Column("credentials", Text, nullable=True),
    # Seconds between fetches; NULL for sources that are not fetched (file imports).
    Column("every_s", Integer, nullable=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("cursor", Text, nullable=False, server_default="{}"),
    Column("next_run_at", UTCDateTime, nullable=True),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", UTCDateTime, nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("last_items", Integer, nullable=False, server_default="0"),
    UniqueConstraint("workspace_id", "kind", "name"),
)

authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("platform", String(50), nullable=False),
    Column("key", String(300), nullable=False),
    Column("handle", String(300), nullable=True),
    Column("name", String(300), nullable=True),
    Column("followers", BigInteger, nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "platform", "key"),
)

mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("text", Text, nullable=False),
    Column("title", Text, nullable=True),
    Column("url", Text, nullable=True),
    Column("canonical_url", Text, nullable=True),
    Column("site", String(300), nullable=False, default=""),
    Column("author_id", Integer, ForeignKey("authors.id", ondelete="SET NULL"), nullable=True),
    Column("author_handle", String(300), nullable=True),
    Column("author_name", String(300), nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
    Column("collected_at", UTCDateTime, nullable=False),
    # published_at when known, else collected_at: what "newest first" sorts on.
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("lang", String(20), nullable=True),
    Column("country", String(10), nullable=True),
    Column("parent_external_id", String(500), nullable=True),
    Column("parent_id", Integer, ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True),
    Column("likes", BigInteger, nullable=True),
    Column("shares", BigInteger, nullable=True),
    Column("replies", BigInteger, nullable=True),
    # Set when this item repeats another one (same canonical URL or near-duplicate text).
    Column("duplicate_of", Integer, ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True),
    Column("duplicate_reason", String(20), nullable=True),
    Column("signature", LargeBinary, nullable=True),
    # Title and text folded (case and accents) for full-text search.
    Column("search_text", Text, nullable=False, default=""),
    Column("fts_config", String(20), nullable=False, default="simple"),
    # Analysis (flocon.analysis): NULL until analysed. lang_detected: lang came from the detector.
    Column("sentiment", String(10), nullable=True),
    Column("sentiment_score", Float, nullable=True),
    Column("sentiment_confidence", Float, nullable=True),
    Column("needs_answer", Boolean, nullable=True),
    Column("needs_answer_score", Float, nullable=True),
    Column("lang_detected", Boolean, nullable=False, server_default=false()),
    Column("analyzed_at", UTCDateTime, nullable=True),
    Column("analysis_model", String(100), nullable=True),
    UniqueConstraint("source_id", "external_id"),
    Index("ix_mentions_workspace_occurred", "workspace_id", "occurred_at"),
    Index("ix_mentions_workspace_canonical_url", "workspace_id", "canonical_url"),
    Index("ix_mentions_parent_external", "source_id", "parent_external_id"),
    Index("ix_mentions_source_collected", "source_id", "collected_at"),
    Index("ix_mentions_workspace_analyzed", "workspace_id", "analyzed_at"),
    # A thread's replies (flocon.services.mentions.thread); also what deleting a mention
    # needs on PostgreSQL to clear its replies' parent_id.
    Index("ix_mentions_parent", "parent_id"),
    # Covers the dashboard's top sources, sites and authors over a time range.
    Index(
        "ix_mentions_dashboard",
        "workspace_id",
        "occurred_at",
        "duplicate_of",
        "sentiment",
        "lang",
        "source_id",
        "site",
        "author_id",
    ),
)

#: A person's verdict on a mention's sentiment; retraining reads them (one per mention).
sentiment_corrections = Table(
    "sentiment_corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(10), nullable=False),
    Column("previous", String(10), nullable=True),
    Column("corrected_by", String(200), nullable=True),
    Column("corrected_at", UTCDateTime, nullable=False),
    UniqueConstraint("mention_id"),
    Index("ix_sentiment_corrections_workspace", "workspace_id"),
)

mention_watches = Table(
    "mention_watches",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True),
    Column("matched_at", UTCDateTime, nullable=False),
    Index("ix_mention_watches_watch", "watch_id", "mention_id"),
)

# Locality-sensitive-hashing bands of each original mention's MinHash signature,
# for near-duplicate lookup with one indexed integer column.
mention_bands = Table(
    "mention_bands",
    metadata,
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("key", BigInteger, nullable=False),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
    Index("ix_mention_bands_lookup", "workspace_id", "key"),
)

#: Influence of each author over a scope (a watch, or the whole workspace when
#: watch_id is NULL), replaced at each computation; ``inputs`` is the JSON of every
#: input and the formula (flocon.analysis.influence), shown by ``flocon authors --explain``.
author_scores = Table(
    "author_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), nullable=True),
    Column("author_id", Integer, ForeignKey("authors.id", ondelete="CASCADE"), nullable=False),
    Column("score", Float, nullable=False),
    Column("pagerank", Float, nullable=False),
    Column("lift", Float, nullable=False),
    Column("followers", BigInteger, nullable=True),
    Column("mentions", Integer, nullable=False),
    Column("engagement", BigInteger, nullable=False),
    Column("replies_received", Integer, nullable=False),
    Column("mentioned_by", Integer, nullable=False),
    Column("shared_by", Integer, nullable=False),
    Column("stance", String(10), nullable=False),
    Column("sentiment_mean", Float, nullable=True),
    # The scope's start (--since); NULL: all stored mentions.
    Column("since", UTCDateTime, nullable=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("inputs", Text, nullable=False),
    Index("ix_author_scores_scope", "workspace_id", "watch_id", "score"),
    Index("ix_author_scores_author", "author_id"),
)

#: Mention counts per watch × time bucket (5 minutes and 1 hour) × sentiment × source kind ×
#: language, kept in step with mention_watches and the analysis columns at write time
#: (flocon.storage.queries.rollups), so dashboards and detectors read buckets, not mentions.
#: Only original mentions count (duplicates do not). '' stands for an unknown sentiment or
#: language. ``flocon rollups check`` compares them with the raw data; ``rebuild`` repairs.
rollups = Table(
    "rollups",
    metadata,
    Column(
        "watch_id",
        Integer,
        ForeignKey("watches.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("bucket_s", Integer, primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("sentiment", String(10), primary_key=True),
    Column("source_kind", String(50), primary_key=True),
    Column("lang", String(20), primary_key=True),
    Column("count", Integer, nullable=False),
)

#: Who gets told what: a rule applies to one watch, a group of watches, or every watch of its
#: workspace (both NULL). ``channels`` is sealed with the credential key (webhook and chat URLs
#: carry tokens); ``channels_shown`` is the same list with the secrets left out.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), nullable=True),
    Column("group_name", String(200), nullable=True),
    Column("signals", String(300), nullable=False),
    Column("sensitivity", String(10), nullable=False),
    Column("min_severity", String(10), nullable=False),
    Column("channels", Text, nullable=True),
    Column("channels_shown", Text, nullable=False),
    Column("quiet_hours", String(20), nullable=True),
    Column("timezone", String(60), nullable=False),
    Column("cooldown_s", Integer, nullable=False),
    Column("digest", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

#: Signals that became alerts: a spike or shift episode (opened, updated while it grows,
#: closed when back to normal), a snowball risk, an influential author, a new site, a source
#: down. ``key`` makes each one unique within its watch and kind (an episode's start, a mention
#: id, a site); ``evidence`` is the JSON list of mention ids, ``details`` the JSON of the
#: detector's figures and factors.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("key", String(300), nullable=False),
    Column("status", String(10), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("score", Float, nullable=True),
    Column("episode_start", UTCDateTime, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("acked_by", String(200), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("explanation", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("details", Text, nullable=False),
    UniqueConstraint("workspace_id", "watch_id", "kind", "key"),
    Index("ix_alerts_status", "workspace_id", "status", "detected_at"),
)

#: One message for one rule's channel, stored *before* it is sent (never lost): pending, sent,
#: failed (will retry at next_attempt_at), dead (gave up; `flocon alerts deliveries --replay`).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("channel", Integer, nullable=False),
    Column("alert_ids", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

#: Detector state of each watch between evaluations (open episodes), as JSON.
signal_state = Table(
    "signal_state",
    metadata,
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("state", Text, nullable=False),
)

# --- Accounts (the web app) -------------------------------------------------------------------

#: People who sign in to the web app. ``email`` is stored lower-cased; ``password_hash`` is an
#: argon2id hash; ``locale`` and ``timezone`` override what the browser says.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=True),
    Column("password_hash", String(300), nullable=False),
    Column("locale", String(10), nullable=True),
    Column("timezone", String(60), nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=sqltrue()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
)

#: A user's role in a workspace: owner, admin, manager, agent or viewer.
memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "workspace_id",
        Integer,
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Signed-in browser sessions. Only the SHA-256 of the cookie's token is stored, so a copy of
#: the database does not open sessions; ``csrf_token`` is the session's form token.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("user_agent", String(300), nullable=True),
    Index("ix_web_sessions_user", "user_id"),
)

#: Scoped, revocable API tokens of a workspace (``scopes``: "read" or "read write"). Only the
#: SHA-256 of the secret is stored; ``prefix`` (its first characters) identifies it in lists.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(20), nullable=False),
    Column("scopes", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

#: One-use password-reset links (SHA-256 of the token), valid for an hour.
password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

#: Failed sign-ins, by e-mail and by client address, for the login rate limit (shared by every
#: web process, so it holds with ``flocon web`` on several processes).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(400), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_key", "key", "at"),
)

#: Who did what and when, in a workspace (``workspace_id`` NULL: about the install, such as a
#: user created on the command line). ``details`` is JSON and never holds a secret.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("actor", String(320), nullable=False),
    Column("action", String(100), nullable=False),
    Column("object_type", String(50), nullable=True),
    Column("object_id", String(300), nullable=True),
    Column("details", Text, nullable=False, server_default="{}"),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_audit_log_workspace", "workspace_id", "id"),
)

#: Tags a team puts on mentions (bulk actions of the mentions page).
mention_tags = Table(
    "mention_tags",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(320), nullable=True),
    Index("ix_mention_tags_tag", "workspace_id", "tag"),
)

#: Muted authors and sites: their mentions are still stored but hidden from lists, dashboards
#: read them apart, and nothing is deleted (``kind``: "author" or "site").
mutes = Table(
    "mutes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(10), nullable=False),
    Column("value", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(320), nullable=True),
    UniqueConstraint("workspace_id", "kind", "value"),
)

#: Distinct matched original mentions per scope (the workspace '', a group 'g:<name>', a watch
#: 'w:<id>'; each mention once however many of the scope's watches it matches) per UTC hour
#: ("total", "hour") or day ("source_kind", "site", "author", "author_split": ``key`` the
#: kind, site or author key) × sentiment × source kind × language ('*' in "total" and
#: "author" rows: all of them).
#: Kept with the rollups at write time (flocon.storage.queries.facets); the dashboard's totals
#: and top lists read them for whole buckets.
facet_rollups = Table(
    "facet_rollups",
    metadata,
    Column(
        "workspace_id",
        Integer,
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("scope", String(210), primary_key=True),
    Column("facet", String(20), primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("sentiment", String(10), primary_key=True),
    Column("source_kind", String(50), primary_key=True),
    Column("lang", String(20), primary_key=True),
    Column("count", Integer, nullable=False),
    # SQLite: rows stored in key order, so that sums over a period read no other page.
    sqlite_with_rowid=False,
)

#: Emerging themes computed for a dashboard scope (``scope_key``: a digest of the workspace's
#: watches in scope, filters, period in whole hours and mutes), reused while fresh
#: (flocon.services.dashboard.themes): the slowest figure, kept off the request path.
theme_cache = Table(
    "theme_cache",
    metadata,
    Column(
        "workspace_id",
        Integer,
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("scope_key", String(64), primary_key=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("themes", Text, nullable=False),
)

# --- the shared inbox (issue 7): cases, their notes, replies and timeline -------------------

#: A mention (or its whole thread, ``scope`` "thread") that needs a human answer. ``status``:
#: new, open, waiting, resolved, ignored (with ``ignored_reason``); ``priority``: low, normal,
#: high, urgent; ``origin``: manual, rule or suggested (flocon's needs-answer signal).
#: ``risk`` orders the inbox; ``risk_factors`` (JSON) holds its visible inputs. ``version``
#: grows on every change: an update that names an older version is refused (two agents).
#: ``title`` keeps the mention's text at creation, so a case outlives a deleted mention.
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True),
    Column("scope", String(10), nullable=False, server_default="mention"),
    Column("status", String(10), nullable=False, server_default="new"),
    Column("ignored_reason", Text, nullable=True),
    Column("priority", String(10), nullable=False, server_default="normal"),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="SET NULL"), nullable=True),
    Column("channel", String(50), nullable=False, server_default=""),
    Column("lang", String(20), nullable=True),
    Column("origin", String(10), nullable=False, server_default="manual"),
    Column("title", Text, nullable=False, server_default=""),
    Column("risk", Float, nullable=False, server_default="0"),
    Column("risk_factors", Text, nullable=False, server_default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(320), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("first_response_due_at", UTCDateTime, nullable=True),
    Column("resolution_due_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    UniqueConstraint("workspace_id", "mention_id"),
    Index("ix_cases_inbox", "workspace_id", "status", "risk"),
    Index("ix_cases_assignee", "assignee_id", "status"),
)

#: A case's timeline: created, status, assign, priority, note, reply, tag, escalated...
#: (``details``: JSON, never a secret). Nothing in it is ever edited or deleted.
case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("actor", String(320), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("details", Text, nullable=False, server_default="{}"),
    Index("ix_case_events_case", "case_id", "id"),
)

#: Internal notes of a case; ``mentioned``: JSON list of the user ids @mentioned in ``text``.
case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("author", String(320), nullable=False),
    Column("text", Text, nullable=False),
    Column("mentioned", Text, nullable=False, server_default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_case_notes_case", "case_id", "id"),
)

#: Answers of a case. ``mode``: "send" (posted by flocon through the platform) or "record" (made
#: elsewhere, with its ``url``). ``status``: draft, sending, sent, failed (``error``, and
#: ``retryable``), recorded. A reply is stored before it is sent, so none is ever lost.
case_replies = Table(
    "case_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("author", String(320), nullable=False),
    Column("text", Text, nullable=False),
    Column("mode", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("url", Text, nullable=True),
    Column("external_id", String(500), nullable=True),
    Column("error", Text, nullable=True),
    Column("retryable", Boolean, nullable=False, server_default=false()),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("tone", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_case_replies_case", "case_id", "id"),
)

case_tags = Table(
    "case_tags",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Index("ix_case_tags_tag", "workspace_id", "tag"),
)

#: Who has a case open, or is writing a reply to it, and when last seen: the collision warning.
case_presence = Table(
    "case_presence",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("activity", String(10), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

#: Reply templates of a workspace, per language, with variables such as {author}.
saved_replies = Table(
    "saved_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("lang", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_by", String(320), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", "lang"),
)

#: A workspace's inbox settings: business hours and SLA targets (JSON), and whether flocon
#: suggests cases from its needs-answer signal.
inbox_settings = Table(
    "inbox_settings",
    metadata,
    Column(
        "workspace_id",
        Integer,
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("business_hours", Text, nullable=False, server_default="{}"),
    Column("sla", Text, nullable=False, server_default="{}"),
    Column("suggest", Boolean, nullable=False, server_default=sqltrue()),
    # The last mention id the inbox rules and suggestions have seen (flocon.services.cases);
    # NULL until the first check, which starts the inbox at the newest mention.
    Column("last_mention_id", Integer, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: The accounts flocon posts replies with (a Mastodon account, a WordPress site...);
#: ``credentials`` is a Fernet token like the sources' and is never shown or logged.
posting_accounts = Table(
    "posting_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("platform", String(50), nullable=False),
    Column("name", String(200), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("credentials", Text, nullable=True),
    Column("created_by", String(320), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "platform", "name"),
)

#: Inbox rules run on new mentions: ``conditions`` and ``actions`` are JSON; ``position``
#: orders them.
inbox_rules = Table(
    "inbox_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("conditions", Text, nullable=False, server_default="{}"),
    Column("actions", Text, nullable=False, server_default="{}"),
    Column("created_by", String(320), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

#: Moderation of the brand's own spaces: hold, approve, hide (with a public reason), spam.
#: Never a deletion; every action kept with its author and outcome (``status``: done, failed).
moderation_actions = Table(
    "moderation_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="SET NULL"), nullable=True),
    Column("action", String(10), nullable=False),
    Column("reason", Text, nullable=True),
    Column("status", String(10), nullable=False),
    Column("error", Text, nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("actor", String(320), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_moderation_mention", "workspace_id", "mention_id"),
)
