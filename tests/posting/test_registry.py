"""The posting registries: every platform tested and documented, accounts checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flocon.errors import ConfigError, ConnectorError, PostRejected
from flocon.posting import (
    MODERATORS,
    POSTERS,
    PostingAccount,
    can_moderate,
    can_post,
    moderator_for,
    poster_for,
    validate_account,
)
from flocon.posting.bluesky import BLUESKY
from flocon.posting.discourse import DISCOURSE
from flocon.posting.mastodon import MASTODON
from flocon.posting.reddit import REDDIT
from flocon.posting.wordpress import WORDPRESS
from flocon.posting.youtube import YOUTUBE

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "posting.md").read_text(encoding="utf-8")
LABELS = {p.name: p.label for p in (MASTODON, BLUESKY, REDDIT, WORDPRESS, DISCOURSE, YOUTUBE)}


def section(label: str) -> str:
    match = re.search(rf"^## {re.escape(label)}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/posting.md has no '## {label}' section"
    return match.group(1)


@pytest.mark.parametrize("platform", sorted(POSTERS))
def test_every_poster_has_its_test_module(platform: str) -> None:
    assert (ROOT / "tests" / "posting" / f"test_{platform}.py").is_file()


@pytest.mark.parametrize("platform", sorted(POSTERS))
def test_every_poster_has_a_documented_account_and_reply(platform: str) -> None:
    text = section(LABELS[platform])
    assert "**Account**" in text
    assert "**Reply**" in text
    for keys in POSTERS[platform].credential_sets:
        for key in keys:
            assert f"`{key}`" in text, f"{platform}: credential {key} is not documented"


@pytest.mark.parametrize("platform", sorted(MODERATORS))
def test_every_moderator_documents_each_action_and_never_deleting(platform: str) -> None:
    text = section(LABELS[platform])
    for action in ("hold", "approve", "spam", "hide"):
        assert f"*{action}*" in text
    assert "**Never deleted**" in text


def test_registries_are_keyed_by_their_platform() -> None:
    assert set(POSTERS) == {"mastodon", "bluesky", "reddit", "wordpress", "discourse", "youtube"}
    assert set(MODERATORS) == {"wordpress", "discourse"}
    assert all(poster.platform == name for name, poster in POSTERS.items())
    assert all(moderator.platform == name for name, moderator in MODERATORS.items())


def test_lookups_answer_for_known_platforms_only() -> None:
    assert poster_for("mastodon") is POSTERS["mastodon"]
    assert poster_for("hackernews") is None
    assert moderator_for("discourse") is MODERATORS["discourse"]
    assert moderator_for("mastodon") is None
    assert can_post("youtube") and not can_post("web")
    assert can_moderate("wordpress") and not can_moderate("reddit")


def test_post_rejected_is_a_connector_error_not_worth_retrying() -> None:
    error = PostRejected("Mastodon refused the reply: text too long", source="mastodon")
    assert isinstance(error, ConnectorError)
    assert error.retryable is False


def test_complete_account_is_valid() -> None:
    validate_account(PostingAccount("mastodon", "https://mastodon.social", {"access_token": "t"}))


def test_missing_alternatives_are_all_named() -> None:
    account = PostingAccount("reddit", "https://oauth.reddit.com", {"username": "brand"})
    with pytest.raises(ConfigError) as caught:
        validate_account(account)
    assert str(caught.value) == (
        "the reddit account lacks the credentials access_token or "
        "client_id, client_secret, password"
    )


def test_any_complete_credential_set_is_enough() -> None:
    script_app = {"client_id": "a", "client_secret": "b", "username": "c", "password": "d"}
    validate_account(PostingAccount("reddit", "https://oauth.reddit.com", script_app))


def test_missing_credentials_are_named_without_values() -> None:
    account = PostingAccount(
        "wordpress", "https://blog.example", {"username": "brand", "application_password": " "}
    )
    with pytest.raises(ConfigError, match=r"lacks the credential application_password$"):
        validate_account(account)


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot post to 'hackernews'"):
        validate_account(PostingAccount("hackernews", "https://news.ycombinator.com", {}))


def test_plain_http_is_refused_for_a_remote_host() -> None:
    account = PostingAccount(
        "discourse", "http://forum.example", {"api_key": "k", "api_username": "u"}
    )
    with pytest.raises(ConfigError, match="https://"):
        validate_account(account)


def test_plain_http_is_allowed_on_this_machine() -> None:
    account = PostingAccount(
        "discourse", "http://127.0.0.1:4200", {"api_key": "k", "api_username": "u"}
    )
    validate_account(account)


def test_address_that_is_not_a_web_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a web address"):
        validate_account(PostingAccount("mastodon", "mastodon.social", {"access_token": "t"}))


def test_credentials_stay_out_of_repr() -> None:
    account = PostingAccount("mastodon", "https://mastodon.social", {"access_token": "s3cr3t"})
    assert "s3cr3t" not in repr(account)
