"""Shared pieces of the web parsers: the page context, dates, text and draft building."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborNode

from flocon.domain.models import AuthorRef, Draft
from flocon.domain.normalize import normalize_text

KIND: Final = "web"

_MONTHS: Final = {
    # French
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8,
    "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11,
    "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_DAY_MONTH_RE: Final = re.compile(
    r"(\d{1,2})(?:er|st|nd|rd|th)?\.?\s+([^\W\d_]+)\.?\s+(\d{4})"
    r"(?:\D{1,8}?(\d{1,2})\s*(?:h|:)\s*(\d{2})?\s*(am|pm)?)?",
    re.IGNORECASE,
)
_MONTH_DAY_RE: Final = re.compile(
    r"([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"
    r"(?:\D{1,8}?(\d{1,2})\s*:\s*(\d{2})\s*(am|pm)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PageContext:
    """Where the drafts of a page come from: the source, the page, and the article's id."""

    source_name: str
    page_url: str
    article_id: str


def strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def absolute(link: str | None, base_url: str) -> str | None:
    """``link`` made absolute against ``base_url``; None unless it is http(s)."""
    if not link or not link.strip():
        return None
    url = urljoin(base_url, link.strip())
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def text_of(value: Any) -> str | None:
    """A stripped non-empty string, or None."""
    if isinstance(value, str) and (value := value.strip()):
        return value
    return None


def html_text(fragment: str | None) -> str:
    """Readable plain text of an HTML fragment (comments, cooked posts)."""
    return normalize_text(fragment) if fragment else ""


def node_text(node: LexborNode | None) -> str:
    return html_text(node.html) if node is not None else ""


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 or textual (French or English) date as UTC; naive times are taken as UTC."""
    text = text_of(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "-" in text[:8] else text)
    except ValueError:
        return _parse_textual_date(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_textual_date(text: str) -> datetime | None:
    for pattern, day_first in ((_DAY_MONTH_RE, True), (_MONTH_DAY_RE, False)):
        for match in pattern.finditer(text):
            first, second, year, hour, minute, ampm = match.groups()
            month = _MONTHS.get((second if day_first else first).lower())
            if month is None:
                continue
            day = int(first if day_first else second)
            hours = int(hour) if hour else 0
            if ampm and ampm.lower() == "pm" and hours < 12:
                hours += 12
            elif ampm and ampm.lower() == "am" and hours == 12:
                hours = 0
            try:
                return datetime(int(year), month, day, hours, int(minute or 0), tzinfo=UTC)
            except ValueError:
                continue
    return None


def content_key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def make_draft(
    context: PageContext,
    *,
    external_id: str,
    text: str,
    author: str | None = None,
    handle: str | None = None,
    published_at: datetime | None = None,
    url: str | None = None,
    parent: str | None = None,
    title: str | None = None,
    lang: str | None = None,
    likes: int | None = None,
) -> Draft:
    """A draft of this page.

    ``parent`` None: a top-level comment, whose parent is the article; ``""``: no parent
    (the article itself).
    """
    return Draft(
        source_kind=KIND,
        source_name=context.source_name,
        text=text,
        external_id=external_id,
        title=title,
        url=url,
        author=AuthorRef(handle=handle, name=author) if (author or handle) else None,
        published_at=published_at,
        lang=lang,
        parent_external_id=(parent or None) if parent is not None else context.article_id,
        likes=likes,
    )
