"""Accounts on SQLite and PostgreSQL: passwords, the login rate limit, sessions, roles and the
last-owner rule, API tokens, password resets and the audit log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import Engine, select

from flocon.errors import AlreadyExists, ConfigError, NotFound
from flocon.services import accounts
from flocon.services import workspaces as workspaces_svc
from flocon.storage.engine import read, write
from flocon.storage.queries import accounts as q
from flocon.storage.tables import api_tokens, audit_log, login_failures, users, web_sessions
from support.seeding import PASSWORD, member

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PRODUCTION = accounts.HASHER  # before the fast_hashing fixture replaces it


pytestmark = pytest.mark.usefixtures("fast_hashing")


def deactivate(engine: Engine, user_id: int) -> None:
    with write(engine) as conn:
        q.update_user(conn, user_id, is_active=False)


def wrong_login(engine: Engine, email: str, at: datetime, client: str = "") -> None:
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(
            engine, email=email, password="not the password", client=client, now=at
        )


# -- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "needed", "expected"),
    [
        ("owner", "admin", True),
        ("admin", "admin", True),
        ("manager", "admin", False),
        ("agent", "viewer", True),
        ("viewer", "agent", False),
        (None, "viewer", False),
    ],
)
def test_role_at_least_follows_the_order_of_roles(
    role: str | None, needed: str, expected: bool
) -> None:
    assert accounts.role_at_least(role, needed) is expected


# -- users and passwords ---------------------------------------------------------------------


def test_create_user_stores_an_argon2id_hash_and_a_lower_cased_email(engine: Engine) -> None:
    user = accounts.create_user(engine, email="  Alice@Example.COM ", password=PASSWORD)
    with read(engine) as conn:
        stored = conn.execute(select(users.c.email, users.c.password_hash)).one()
    assert user.email == "alice@example.com"
    assert stored.email == "alice@example.com"
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_production_hasher_is_argon2id_with_default_parameters() -> None:
    defaults = PasswordHasher()
    assert PRODUCTION.type is Type.ID
    assert (PRODUCTION.time_cost, PRODUCTION.memory_cost, PRODUCTION.parallelism) == (
        defaults.time_cost,
        defaults.memory_cost,
        defaults.parallelism,
    )


def test_create_user_refuses_an_email_already_taken(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    with pytest.raises(AlreadyExists):
        accounts.create_user(engine, email="ALICE@example.com", password=PASSWORD)


def test_create_user_refuses_an_invalid_email(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="not a valid e-mail"):
        accounts.create_user(engine, email="alice at example", password=PASSWORD)


@pytest.mark.parametrize(
    "password", ["short", "alice@example.com", "ALICE@EXAMPLE.COM", "x" * 1025]
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(accounts.WeakPassword):
        accounts.check_password(password, email="alice@example.com")


def test_setup_owner_makes_the_first_user_owner_of_the_workspace(engine: Engine) -> None:
    assert accounts.has_users(engine) is False
    user = accounts.setup_owner(engine, email="owner@example.com", password=PASSWORD)
    assert accounts.has_users(engine) is True
    assert accounts.role_in(engine, user.id, "default") == "owner"


def test_setup_owner_creates_a_missing_workspace(engine: Engine) -> None:
    user = accounts.setup_owner(
        engine, email="owner@example.com", password=PASSWORD, workspace="acme"
    )
    # "acme" is created; "default" existed already (migrations make it): the first owner
    # owns every workspace made before anyone could sign in.
    roles = {m.workspace: m.role for m in accounts.memberships(engine, user.id)}
    assert roles == {"acme": "owner", "default": "owner"}


def test_setup_owner_refuses_once_a_user_exists(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    with pytest.raises(AlreadyExists):
        accounts.setup_owner(engine, email="owner@example.com", password=PASSWORD)


def test_set_preferences_stores_locale_and_timezone(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    updated = accounts.set_preferences(engine, user.id, locale="fr", timezone="Europe/Paris")
    assert (updated.locale, updated.timezone) == ("fr", "Europe/Paris")


@pytest.mark.parametrize(("locale", "timezone"), [("de", None), (None, "Mars/Olympus")])
def test_set_preferences_refuses_unknown_values(
    engine: Engine, locale: str | None, timezone: str | None
) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    with pytest.raises(ConfigError):
        accounts.set_preferences(engine, user.id, locale=locale, timezone=timezone)


# -- signing in ------------------------------------------------------------------------------


def test_authenticate_accepts_the_right_password_and_records_the_sign_in(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    user = accounts.authenticate(engine, email="Alice@Example.com", password=PASSWORD, now=T0)
    assert user.email == "alice@example.com"
    assert user.last_login_at == T0


def test_authenticate_refuses_a_wrong_password_and_records_the_failure(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    with pytest.raises(accounts.InvalidCredentials, match="wrong e-mail or password"):
        accounts.authenticate(
            engine, email="alice@example.com", password="nope nope nope", client="1.2.3.4", now=T0
        )
    with read(engine) as conn:
        keys = sorted(conn.execute(select(login_failures.c.key)).scalars())
    assert keys == ["client:1.2.3.4", "email:alice@example.com"]


def test_authenticate_gives_the_same_answer_for_an_unknown_email(engine: Engine) -> None:
    with pytest.raises(accounts.InvalidCredentials, match="wrong e-mail or password"):
        accounts.authenticate(engine, email="nobody@example.com", password=PASSWORD, now=T0)


def test_authenticate_refuses_an_inactive_user(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    deactivate(engine, user.id)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(engine, email="alice@example.com", password=PASSWORD, now=T0)


def test_five_failures_throttle_the_email_until_the_oldest_leaves_the_window(
    engine: Engine,
) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    for minute in range(5):
        wrong_login(engine, "alice@example.com", T0 + timedelta(minutes=minute))
    with pytest.raises(accounts.LoginThrottled) as caught:
        accounts.authenticate(
            engine, email="alice@example.com", password=PASSWORD, now=T0 + timedelta(minutes=5)
        )
    assert caught.value.retry_after_s == 600


def test_throttled_email_signs_in_again_after_the_window(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    for _ in range(5):
        wrong_login(engine, "alice@example.com", T0)
    later = T0 + timedelta(minutes=15, seconds=1)
    user = accounts.authenticate(engine, email="alice@example.com", password=PASSWORD, now=later)
    assert user.last_login_at == later


def test_success_clears_the_failures_of_the_email(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    for _ in range(4):
        wrong_login(engine, "alice@example.com", T0)
    accounts.authenticate(engine, email="alice@example.com", password=PASSWORD, now=T0)
    for _ in range(4):
        wrong_login(engine, "alice@example.com", T0)
    # Eight failures in the window, but only four since the success: not throttled.
    user = accounts.authenticate(engine, email="alice@example.com", password=PASSWORD, now=T0)
    assert user.email == "alice@example.com"


def test_thirty_failures_from_one_client_throttle_every_email(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    for i in range(30):
        wrong_login(engine, f"guess{i}@example.com", T0, client="203.0.113.9")
    with pytest.raises(accounts.LoginThrottled):
        accounts.authenticate(
            engine, email="alice@example.com", password=PASSWORD, client="203.0.113.9", now=T0
        )


def test_authenticate_rehashes_when_the_parameters_changed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
    )
    accounts.authenticate(engine, email="alice@example.com", password=PASSWORD, now=T0)
    with read(engine) as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert ",t=2," in stored


# -- sessions --------------------------------------------------------------------------------


def test_session_gives_the_user_and_its_csrf_token(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, csrf = accounts.start_session(engine, user.id, now=T0)
    info = accounts.session_info(engine, token, now=T0 + timedelta(hours=1))
    assert info is not None
    assert (info.user.id, info.csrf_token, info.expires_at) == (
        user.id,
        csrf,
        T0 + timedelta(days=14),
    )


def test_session_stores_only_the_digest_of_its_token(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, _ = accounts.start_session(engine, user.id, now=T0)
    with read(engine) as conn:
        stored = conn.execute(select(web_sessions.c.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_expired_session_is_refused(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, _ = accounts.start_session(engine, user.id, now=T0, days=14)
    assert accounts.session_info(engine, token, now=T0 + timedelta(days=14, seconds=1)) is None


def test_session_slides_once_less_than_half_is_left(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, _ = accounts.start_session(engine, user.id, now=T0, days=14)
    early = accounts.session_info(engine, token, now=T0 + timedelta(days=2))
    late_at = T0 + timedelta(days=8)
    late = accounts.session_info(engine, token, now=late_at)
    assert early is not None and late is not None
    assert early.expires_at == T0 + timedelta(days=14)
    assert late.expires_at == late_at + timedelta(days=14)
    # The renewal is stored: the session outlives its first expiry.
    assert accounts.session_info(engine, token, now=T0 + timedelta(days=20)) is not None


def test_session_of_an_inactive_user_is_refused(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, _ = accounts.start_session(engine, user.id, now=T0)
    deactivate(engine, user.id)
    assert accounts.session_info(engine, token, now=T0) is None


def test_unknown_session_token_is_refused(engine: Engine) -> None:
    assert accounts.session_info(engine, "made-up-token", now=T0) is None


def test_end_session_signs_out(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token, _ = accounts.start_session(engine, user.id, now=T0)
    accounts.end_session(engine, token)
    assert accounts.session_info(engine, token, now=T0) is None


def test_end_all_sessions_counts_the_sessions_ended(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    tokens = [accounts.start_session(engine, user.id, now=T0)[0] for _ in range(3)]
    assert accounts.end_all_sessions(engine, user.id) == 3
    assert [accounts.session_info(engine, t, now=T0) for t in tokens] == [None, None, None]


def test_change_password_keeps_only_the_current_session(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    mine, _ = accounts.start_session(engine, user.id)
    other, _ = accounts.start_session(engine, user.id)
    accounts.change_password(
        engine, user.id, current=PASSWORD, new="a brand new secret", keep_session=mine
    )
    assert accounts.session_info(engine, mine) is not None
    assert accounts.session_info(engine, other) is None
    assert accounts.authenticate(engine, email="alice@example.com", password="a brand new secret")


def test_change_password_needs_the_current_one(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.change_password(engine, user.id, current="wrong guess!", new="a brand new secret")


# -- memberships -----------------------------------------------------------------------------


def test_members_and_memberships_list_roles(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "acme")
    alice = member(engine, "alice@example.com", "manager")
    member(engine, "alice@example.com", "viewer", workspace="acme")
    member(engine, "bob@example.com", "agent")
    assert [(m.workspace, m.role) for m in accounts.memberships(engine, alice.id)] == [
        ("acme", "viewer"),
        ("default", "manager"),
    ]
    assert [(u.email, r) for u, r in accounts.list_members(engine, "default")] == [
        ("alice@example.com", "manager"),
        ("bob@example.com", "agent"),
    ]


def test_add_member_needs_an_existing_user(engine: Engine) -> None:
    with pytest.raises(NotFound):
        accounts.add_member(
            engine, "default", email="ghost@example.com", role="viewer", actor="cli"
        )


def test_add_member_refuses_a_second_membership(engine: Engine) -> None:
    member(engine, "alice@example.com", "viewer")
    with pytest.raises(AlreadyExists):
        accounts.add_member(engine, "default", email="alice@example.com", role="agent", actor="cli")


def test_manager_may_not_add_members(engine: Engine) -> None:
    manager = member(engine, "manager@example.com", "manager")
    accounts.create_user(engine, email="bob@example.com", password=PASSWORD)
    with pytest.raises(accounts.PermissionDenied):
        accounts.add_member(
            engine, "default", email="bob@example.com", role="viewer", actor=manager
        )


def test_admin_may_add_members_but_not_owners(engine: Engine) -> None:
    admin = member(engine, "admin@example.com", "admin")
    accounts.create_user(engine, email="bob@example.com", password=PASSWORD)
    accounts.create_user(engine, email="carol@example.com", password=PASSWORD)
    accounts.add_member(engine, "default", email="bob@example.com", role="admin", actor=admin)
    with pytest.raises(accounts.PermissionDenied, match="owner"):
        accounts.add_member(engine, "default", email="carol@example.com", role="owner", actor=admin)


def test_owner_may_add_an_owner(engine: Engine) -> None:
    owner = member(engine, "owner@example.com", "owner")
    bob = accounts.create_user(engine, email="bob@example.com", password=PASSWORD)
    accounts.add_member(engine, "default", email="bob@example.com", role="owner", actor=owner)
    assert accounts.role_in(engine, bob.id, "default") == "owner"


def test_actor_named_by_email_has_its_role_checked(engine: Engine) -> None:
    member(engine, "agent@example.com", "agent")
    accounts.create_user(engine, email="bob@example.com", password=PASSWORD)
    with pytest.raises(accounts.PermissionDenied):
        accounts.add_member(
            engine, "default", email="bob@example.com", role="viewer", actor="agent@example.com"
        )


def test_the_last_owner_cannot_be_demoted(engine: Engine) -> None:
    owner = member(engine, "owner@example.com", "owner")
    with pytest.raises(accounts.LastOwner):
        accounts.set_role(engine, "default", user_id=owner.id, role="admin", actor="cli")
    assert accounts.role_in(engine, owner.id, "default") == "owner"


def test_an_owner_can_be_demoted_when_another_remains(engine: Engine) -> None:
    owner = member(engine, "owner@example.com", "owner")
    member(engine, "second@example.com", "owner")
    accounts.set_role(engine, "default", user_id=owner.id, role="admin", actor="cli")
    assert accounts.role_in(engine, owner.id, "default") == "admin"


def test_the_last_owner_cannot_be_removed(engine: Engine) -> None:
    owner = member(engine, "owner@example.com", "owner")
    with pytest.raises(accounts.LastOwner):
        accounts.remove_member(engine, "default", user_id=owner.id, actor=owner)


def test_admin_cannot_demote_an_owner(engine: Engine) -> None:
    member(engine, "first@example.com", "owner")
    owner = member(engine, "owner@example.com", "owner")
    admin = member(engine, "admin@example.com", "admin")
    with pytest.raises(accounts.PermissionDenied):
        accounts.set_role(engine, "default", user_id=owner.id, role="viewer", actor=admin)


def test_a_viewer_may_leave_a_workspace(engine: Engine) -> None:
    viewer = member(engine, "viewer@example.com", "viewer")
    accounts.remove_member(engine, "default", user_id=viewer.id, actor=viewer)
    assert accounts.role_in(engine, viewer.id, "default") is None


def test_a_viewer_may_not_remove_someone_else(engine: Engine) -> None:
    viewer = member(engine, "viewer@example.com", "viewer")
    other = member(engine, "other@example.com", "viewer")
    with pytest.raises(accounts.PermissionDenied):
        accounts.remove_member(engine, "default", user_id=other.id, actor=viewer)


# -- API tokens ------------------------------------------------------------------------------


def test_read_token_authenticates_as_a_viewer(engine: Engine) -> None:
    manager = member(engine, "manager@example.com", "manager")
    token, secret = accounts.create_token(
        engine, "default", user_id=manager.id, name="dashboard", actor="cli"
    )
    auth = accounts.authenticate_token(engine, secret, now=T0)
    assert auth is not None
    assert (auth.token_id, auth.workspace, auth.user.id, auth.role, auth.scopes) == (
        token.id,
        "default",
        manager.id,
        "viewer",
        ("read",),
    )


def test_write_token_keeps_the_role_of_its_user(engine: Engine) -> None:
    agent = member(engine, "agent@example.com", "agent")
    _, secret = accounts.create_token(
        engine, "default", user_id=agent.id, name="push", scopes=("write",), actor="cli"
    )
    auth = accounts.authenticate_token(engine, secret, now=T0)
    assert auth is not None
    assert (auth.role, auth.scopes) == ("agent", ("read", "write"))


def test_write_token_needs_an_agent(engine: Engine) -> None:
    viewer = member(engine, "viewer@example.com", "viewer")
    with pytest.raises(accounts.PermissionDenied):
        accounts.create_token(
            engine, "default", user_id=viewer.id, name="push", scopes=("write",), actor="cli"
        )


def test_token_needs_a_member(engine: Engine) -> None:
    outsider = accounts.create_user(engine, email="out@example.com", password=PASSWORD)
    with pytest.raises(accounts.PermissionDenied):
        accounts.create_token(engine, "default", user_id=outsider.id, name="x", actor="cli")


def test_token_secret_is_shown_once_and_stored_as_a_digest(engine: Engine) -> None:
    user = member(engine, "agent@example.com", "agent")
    token, secret = accounts.create_token(engine, "default", user_id=user.id, name="x", actor="cli")
    with read(engine) as conn:
        stored = conn.execute(select(api_tokens.c.token_hash, api_tokens.c.prefix)).one()
    assert secret.startswith("flc_")
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == token.prefix == secret[:10]


def test_revoked_token_is_refused(engine: Engine) -> None:
    user = member(engine, "agent@example.com", "agent")
    token, secret = accounts.create_token(engine, "default", user_id=user.id, name="x", actor="cli")
    accounts.revoke_token(engine, "default", token.id, actor="cli")
    assert accounts.authenticate_token(engine, secret) is None
    assert accounts.list_tokens(engine, "default")[0].revoked_at is not None


def test_expired_token_is_refused(engine: Engine) -> None:
    user = member(engine, "agent@example.com", "agent")
    expires = datetime.now(UTC) + timedelta(days=1)
    _, secret = accounts.create_token(
        engine, "default", user_id=user.id, name="x", expires_at=expires, actor="cli"
    )
    assert accounts.authenticate_token(engine, secret, now=expires - timedelta(seconds=1))
    assert accounts.authenticate_token(engine, secret, now=expires) is None


def test_token_of_a_removed_member_is_refused(engine: Engine) -> None:
    member(engine, "owner@example.com", "owner")
    user = member(engine, "agent@example.com", "agent")
    _, secret = accounts.create_token(engine, "default", user_id=user.id, name="x", actor="cli")
    accounts.remove_member(engine, "default", user_id=user.id, actor="cli")
    assert accounts.authenticate_token(engine, secret) is None


def test_unknown_token_is_refused(engine: Engine) -> None:
    assert accounts.authenticate_token(engine, "flc_not-a-real-token") is None


def test_token_last_use_is_recorded_at_most_once_a_minute(engine: Engine) -> None:
    user = member(engine, "agent@example.com", "agent")
    _, secret = accounts.create_token(engine, "default", user_id=user.id, name="x", actor="cli")
    for seconds in (0, 30, 59, 61):
        accounts.authenticate_token(engine, secret, now=T0 + timedelta(seconds=seconds))
        if seconds == 59:
            assert accounts.list_tokens(engine, "default")[0].last_used_at == T0
    assert accounts.list_tokens(engine, "default")[0].last_used_at == T0 + timedelta(seconds=61)


def test_token_of_another_workspace_cannot_be_revoked_from_here(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "acme")
    user = member(engine, "agent@example.com", "agent", workspace="acme")
    token, _ = accounts.create_token(engine, "acme", user_id=user.id, name="x", actor="cli")
    with pytest.raises(NotFound):
        accounts.revoke_token(engine, "default", token.id, actor="cli")


# -- password resets -------------------------------------------------------------------------


def test_reset_for_an_unknown_email_gives_nothing(engine: Engine) -> None:
    assert accounts.request_password_reset(engine, "nobody@example.com", now=T0) is None


def test_reset_sets_the_new_password_and_ends_sessions(engine: Engine) -> None:
    user = accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    session, _ = accounts.start_session(engine, user.id)
    token = accounts.request_password_reset(engine, "alice@example.com")
    assert token is not None
    accounts.reset_password(engine, token, "a brand new secret")
    assert accounts.session_info(engine, session) is None
    assert accounts.authenticate(engine, email="alice@example.com", password="a brand new secret")


def test_reset_token_works_once(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token = accounts.request_password_reset(engine, "alice@example.com", now=T0)
    assert token is not None
    accounts.reset_password(engine, token, "a brand new secret", now=T0)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.reset_password(engine, token, "another new secret", now=T0)


def test_reset_token_expires_after_an_hour(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token = accounts.request_password_reset(engine, "alice@example.com", now=T0)
    assert token is not None
    with pytest.raises(accounts.InvalidCredentials):
        accounts.reset_password(engine, token, "a brand new secret", now=T0 + timedelta(hours=1))


def test_weak_new_password_does_not_spend_the_reset_token(engine: Engine) -> None:
    accounts.create_user(engine, email="alice@example.com", password=PASSWORD)
    token = accounts.request_password_reset(engine, "alice@example.com", now=T0)
    assert token is not None
    with pytest.raises(accounts.WeakPassword):
        accounts.reset_password(engine, token, "short", now=T0)
    user = accounts.reset_password(engine, token, "a brand new secret", now=T0)
    assert user.email == "alice@example.com"


# -- audit log -------------------------------------------------------------------------------


def test_audit_log_records_member_and_token_changes_newest_first(engine: Engine) -> None:
    owner = accounts.setup_owner(engine, email="owner@example.com", password=PASSWORD)
    bob = accounts.create_user(engine, email="bob@example.com", password=PASSWORD)
    accounts.add_member(engine, "default", email="bob@example.com", role="viewer", actor=owner)
    accounts.set_role(engine, "default", user_id=bob.id, role="agent", actor=owner)
    token, _ = accounts.create_token(engine, "default", user_id=bob.id, name="ci", actor=owner)
    accounts.revoke_token(engine, "default", token.id, actor=owner)
    accounts.remove_member(engine, "default", user_id=bob.id, actor=owner)
    entries = accounts.audit_events(engine, "default")
    assert [e.action for e in entries] == [
        "member.remove",
        "token.revoke",
        "token.create",
        "member.role",
        "member.add",
        "setup",
    ]
    assert {e.actor for e in entries} == {"owner@example.com"}
    assert entries[3].details == {"email": "bob@example.com", "from": "viewer", "to": "agent"}


def test_audit_log_pages_back_with_before_id(engine: Engine) -> None:
    accounts.setup_owner(engine, email="owner@example.com", password=PASSWORD)
    for name in ("a@example.com", "b@example.com", "c@example.com"):
        member(engine, name, "viewer")
    first = accounts.audit_events(engine, "default", limit=2)
    rest = accounts.audit_events(engine, "default", limit=10, before_id=first[-1].id)
    assert [e.details.get("email") for e in first + rest] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
        "owner@example.com",
    ]


def test_audit_log_of_a_workspace_leaves_out_other_workspaces(engine: Engine) -> None:
    workspaces_svc.add_workspace(engine, "acme")
    member(engine, "alice@example.com", "viewer", workspace="acme")
    assert accounts.audit_events(engine, "default") == []
    assert [e.action for e in accounts.audit_events(engine, "acme")] == ["member.add"]


def test_audit_log_holds_no_secret(engine: Engine) -> None:
    owner = accounts.setup_owner(engine, email="owner@example.com", password=PASSWORD)
    agent = member(engine, "agent@example.com", "agent")
    _, secret = accounts.create_token(engine, "default", user_id=agent.id, name="ci", actor=owner)
    reset = accounts.request_password_reset(engine, "agent@example.com")
    assert reset is not None
    accounts.reset_password(engine, reset, "a brand new secret")
    accounts.change_password(engine, agent.id, current="a brand new secret", new="yet another one")
    with read(engine) as conn:
        dumped = " ".join(str(tuple(r)) for r in conn.execute(select(audit_log)))
    assert "password.reset" in dumped and "token.create" in dumped
    for value in (PASSWORD, secret, secret[4:], reset, "a brand new secret", "yet another one"):
        assert value not in dumped


def test_record_refuses_details_that_look_like_secrets(engine: Engine) -> None:
    with write(engine) as conn, pytest.raises(ValueError, match="password"):
        accounts.record(
            conn, workspace_id=None, actor="cli", action="x", details={"new_password": "x"}
        )
