"""sitemap.xml to page addresses and their last modification dates (pure).

Both forms of the protocol are read: a ``<urlset>`` lists pages, a
``<sitemapindex>`` lists other sitemaps. gzip-compressed files are accepted.
The XML is parsed with the standard library after refusing anything that could
make it dangerous: a file larger than :data:`MAX_SITEMAP_BYTES` (once
decompressed) and any ``<!DOCTYPE`` or ``<!ENTITY`` declaration (no entity
expansion, no external resource).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from xml.etree import ElementTree

from flocon.errors import ParseError

#: The protocol's own limit on an uncompressed sitemap.
MAX_SITEMAP_BYTES: Final = 50 * 1024 * 1024
#: Entries read from one file (the protocol's limit).
MAX_SITEMAP_ENTRIES: Final = 50_000
_DECLARATION_RE: Final = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

SitemapEntry = tuple[str, datetime | None]


@dataclass(frozen=True, slots=True)
class Sitemap:
    """One parsed file: ``pages`` from a ``<urlset>``, ``sitemaps`` from a ``<sitemapindex>``.

    Each entry is ``(url, lastmod)``, ``lastmod`` a UTC datetime or None.
    """

    pages: list[SitemapEntry] = field(default_factory=list)
    sitemaps: list[SitemapEntry] = field(default_factory=list)


def parse_sitemap(raw: bytes, *, url: str | None = None) -> Sitemap:
    """Parse a sitemap file (no I/O); :class:`ParseError` when it is not a safe sitemap."""
    data = _decompress(raw, url)
    if len(data) > MAX_SITEMAP_BYTES:
        raise ParseError("sitemap larger than 50 MB", url=url)
    if _DECLARATION_RE.search(data):
        raise ParseError("sitemap refused: it declares a DOCTYPE or entities", url=url)
    try:
        root = ElementTree.fromstring(data)  # size-capped, no DOCTYPE: safe
    except ElementTree.ParseError as exc:
        raise ParseError(f"sitemap is not valid XML ({exc})", url=url) from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: the root element is <{kind}>", url=url)
    child = "url" if kind == "urlset" else "sitemap"
    entries: list[SitemapEntry] = []
    for element in root:
        if _local(element.tag) != child:
            continue
        loc = lastmod = None
        for part in element:
            name = _local(part.tag)
            if name == "loc":
                loc = (part.text or "").strip()
            elif name == "lastmod":
                lastmod = parse_lastmod(part.text)
        if loc:
            entries.append((loc, lastmod))
            if len(entries) >= MAX_SITEMAP_ENTRIES:
                break
    return Sitemap(pages=entries) if kind == "urlset" else Sitemap(sitemaps=entries)


def parse_lastmod(value: str | None) -> datetime | None:
    """A W3C datetime (``2024-01-06``, ``2024-01-06T08:30:00+01:00``) as UTC, or None."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decompress(raw: bytes, url: str | None) -> bytes:
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = reader.decompress(raw, MAX_SITEMAP_BYTES + 1)
    except zlib.error as exc:
        raise ParseError(f"sitemap is not valid gzip ({exc})", url=url) from exc
    if len(data) > MAX_SITEMAP_BYTES:
        raise ParseError("sitemap larger than 50 MB once decompressed", url=url)
    return data


def _local(tag: str) -> str:
    """An element name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]
