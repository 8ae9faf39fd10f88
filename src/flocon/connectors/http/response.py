"""What a request returns: :class:`HttpResponse`, a complete, decoded, immutable response."""

from __future__ import annotations

import codecs
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

from flocon.connectors.http.urls import redact_url
from flocon.errors import ParseError


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, lower-cased, or None."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    return message.get_content_charset() or None


def decode_text(content: bytes, charset: str | None) -> str:
    """``content`` decoded with ``charset``, never raising: bad bytes become U+FFFD.

    No charset, or an unknown one: UTF-8 (a byte-order mark is dropped). As browsers
    do (WHATWG Encoding), ``iso-8859-1`` and ``us-ascii`` are read as windows-1252,
    their superset, so the "smart quotes" that mislabelled pages contain come out right.
    """
    if charset:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            name = "utf-8"
        if name in ("iso8859-1", "ascii"):
            name = "cp1252"
        if name != "utf-8":
            try:
                return content.decode(name, errors="replace")
            except LookupError:  # not a text encoding (rot13, hex...)
                pass
    return content.decode("utf-8-sig", errors="replace")


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response read in full: ``headers`` are case-insensitive, ``content`` is decompressed.

    ``url`` is the address that answered, after redirects.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes

    def text(self) -> str:
        """The body as text, with the charset of ``Content-Type`` (bad bytes become U+FFFD)."""
        return decode_text(self.content, charset_of(self.headers.get("content-type")))

    def json(self) -> Any:
        """The body parsed as JSON; :class:`~flocon.errors.ParseError` when it is not."""
        try:
            return jsonlib.loads(self.content)
        except jsonlib.JSONDecodeError as exc:
            url = redact_url(self.url)
            raise ParseError(
                f"the response of {url} is not valid JSON "
                f"({exc.msg} at line {exc.lineno}, column {exc.colno})",
                url=url,
            ) from exc
        except UnicodeDecodeError as exc:
            url = redact_url(self.url)
            raise ParseError(
                f"the response of {url} is not valid JSON (it is not UTF-8 text)", url=url
            ) from exc
