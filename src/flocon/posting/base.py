"""The contract of posting connectors: accounts, reply targets, results and the protocols.

A posting connector *writes* to a platform on behalf of the brand: a reply
(:class:`Poster`) or, on the brand's own spaces, a moderation decision
(:class:`Moderator`). It is handed the shared :class:`~flocon.connectors.http.HttpClient`
and never builds its own. Failures are :class:`~flocon.errors.ConnectorError`
subclasses whose message is one sentence an agent understands and whose
``retryable`` says whether the inbox offers "retry".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from flocon.connectors.http import HttpClient
from flocon.errors import ConfigError

ModerationAction = Literal["hold", "approve", "hide", "spam"]
MODERATION_ACTIONS: tuple[ModerationAction, ...] = ("hold", "approve", "hide", "spam")


@dataclass(frozen=True, slots=True)
class PostingAccount:
    """The brand's account on one platform.

    ``base_url`` is the instance, site or API root (``https://mastodon.social``,
    ``https://bsky.social``, ``https://oauth.reddit.com``, ``https://blog.example``,
    ``https://forum.example``, ``https://www.googleapis.com/youtube/v3``).
    ``credentials`` hold secrets: they go into request headers and nowhere else
    (never a message, a log line or ``repr``).
    """

    platform: str
    base_url: str
    credentials: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What to answer or moderate, as the reading connector stored it.

    ``platform`` is the mention's source kind (``web`` for WordPress and Discourse
    pages); ``external_id`` is the id that connector gave the mention; ``extra``
    carries what the id does not say (see docs/posting.md, per platform).
    """

    platform: str
    external_id: str
    url: str | None
    parent_external_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Posted:
    """The reply as the platform created it.

    ``external_id`` follows the id scheme of the reading connector of that platform,
    so that the reply, once read back, is recognised as the one flocon posted.
    """

    external_id: str
    url: str | None


class Poster(Protocol):
    """Posts a reply on one platform."""

    platform: str
    #: The credential keys an account must have (one of these sets).
    credential_sets: tuple[frozenset[str], ...]

    async def reply(
        self, http: HttpClient, account: PostingAccount, target: ReplyTarget, text: str
    ) -> Posted: ...


class Moderator(Protocol):
    """Moderates the brand's own space on one platform; never deletes anything."""

    platform: str

    async def moderate(
        self,
        http: HttpClient,
        account: PostingAccount,
        target: ReplyTarget,
        action: ModerationAction,
        *,
        reason: str | None,
    ) -> None: ...


def credential(account: PostingAccount, key: str) -> str:
    """The credential ``key`` of ``account``; :class:`ConfigError` naming the key (never a
    value) when it is missing or blank."""
    value = account.credentials.get(key, "")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the {account.platform} account lacks the credential {key}")
    return value.strip() if key != "password" else value
