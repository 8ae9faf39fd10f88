"""Which platforms flocon can post to and moderate: explicit registries, one line each.

A new platform is one module in this package, one line in :data:`POSTERS` (and in
:data:`MODERATORS` when it moderates), a test module ``tests/posting/test_<platform>.py``
and a section in docs/posting.md; a test checks the last two.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from flocon.errors import ConfigError
from flocon.posting.base import Moderator, Poster, PostingAccount
from flocon.posting.bluesky import BlueskyPoster
from flocon.posting.discourse import DiscourseConnector
from flocon.posting.mastodon import MastodonPoster
from flocon.posting.reddit import RedditPoster
from flocon.posting.wordpress import WordPressConnector
from flocon.posting.youtube import YouTubePoster

_WORDPRESS: Final = WordPressConnector()
_DISCOURSE: Final = DiscourseConnector()

POSTERS: Final[Mapping[str, Poster]] = MappingProxyType(
    {
        "mastodon": MastodonPoster(),
        "bluesky": BlueskyPoster(),
        "reddit": RedditPoster(),
        "wordpress": _WORDPRESS,
        "discourse": _DISCOURSE,
        "youtube": YouTubePoster(),
    }
)

MODERATORS: Final[Mapping[str, Moderator]] = MappingProxyType(
    {
        "wordpress": _WORDPRESS,
        "discourse": _DISCOURSE,
    }
)


def poster_for(platform: str) -> Poster | None:
    """The poster of ``platform``, or None when flocon cannot post there."""
    return POSTERS.get(platform)


def moderator_for(platform: str) -> Moderator | None:
    """The moderator of ``platform``, or None when flocon cannot moderate there."""
    return MODERATORS.get(platform)


def can_post(platform: str) -> bool:
    return platform in POSTERS


def can_moderate(platform: str) -> bool:
    return platform in MODERATORS


def validate_account(account: PostingAccount) -> None:
    """:class:`ConfigError` unless ``account`` names a known platform, an https address
    (plain http only on this machine) and one complete set of credentials.

    Messages name the missing keys, never a value.
    """
    poster = POSTERS.get(account.platform)
    if poster is None:
        known = ", ".join(sorted(POSTERS))
        raise ConfigError(f"flocon cannot post to {account.platform!r} (it can post to {known})")
    _check_base_url(account)
    present = {k for k, v in account.credentials.items() if isinstance(v, str) and v.strip()}
    if any(needed <= present for needed in poster.credential_sets):
        return
    missing = [sorted(needed - present) for needed in poster.credential_sets]
    options = " or ".join(", ".join(keys) for keys in missing)
    noun = "credential" if len(missing) == 1 and len(missing[0]) == 1 else "credentials"
    raise ConfigError(f"the {account.platform} account lacks the {noun} {options}")


def _check_base_url(account: PostingAccount) -> None:
    try:
        parts = urlsplit(account.base_url.strip())
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"the {account.platform} account's address {account.base_url!r} is not a web "
            "address (https://...)"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"the {account.platform} account's address must start with https://: flocon "
            "does not send credentials over plain http"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
