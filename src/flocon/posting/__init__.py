"""Posting connectors: replies from the shared inbox, and moderation of the brand's spaces.

The services call :func:`poster_for` / :func:`moderator_for` with the *account's*
platform and hand them the shared HTTP client; see docs/posting.md.
"""

from __future__ import annotations

from flocon.posting.base import (
    MODERATION_ACTIONS,
    ModerationAction,
    Moderator,
    Posted,
    Poster,
    PostingAccount,
    ReplyTarget,
)
from flocon.posting.registry import (
    MODERATORS,
    POSTERS,
    can_moderate,
    can_post,
    moderator_for,
    poster_for,
    validate_account,
)

__all__ = [
    "MODERATION_ACTIONS",
    "MODERATORS",
    "POSTERS",
    "ModerationAction",
    "Moderator",
    "Posted",
    "Poster",
    "PostingAccount",
    "ReplyTarget",
    "can_moderate",
    "can_post",
    "moderator_for",
    "poster_for",
    "validate_account",
]
