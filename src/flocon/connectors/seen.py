"""What a connector's cursor remembers of items already returned: short hashes of their ids.

Used by connectors that re-read a whole list each time (a feed, a comment thread) to
return only what is new. The ingest service deduplicates anyway; this keeps fetches
and `flocon source test` honest about what is new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from flocon.domain.models import Draft


def seen_keys(cursor: Mapping[str, Any]) -> list[str]:
    """The keys stored under ``cursor["seen"]`` (anything malformed is ignored)."""
    seen = cursor.get("seen")
    return [key for key in seen if isinstance(key, str)] if isinstance(seen, list) else []


def item_key(draft: Draft, length: int = 20) -> str:
    """A short hash of the draft's external id (ids can be long URLs)."""
    return hashlib.sha256((draft.external_id or "").encode()).hexdigest()[:length]


def select_new(
    drafts: Sequence[Draft], seen: Sequence[str], *, key_length: int = 20
) -> tuple[list[Draft], list[str]]:
    """The drafts whose key is not in ``seen`` (first of each key), and every key in order."""
    known = set(seen)
    new: list[Draft] = []
    keys: dict[str, None] = {}
    for draft in drafts:
        key = item_key(draft, key_length)
        if key in keys:
            continue
        keys[key] = None
        if key not in known:
            new.append(draft)
    return new, list(keys)


def remember(current: Sequence[str], seen: Sequence[str], limit: int) -> list[str]:
    """The keys to keep: the current ones first, then older ones, at most ``limit``."""
    current_set = set(current)
    return (list(current) + [key for key in seen if key not in current_set])[:limit]
