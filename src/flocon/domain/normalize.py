"""Text and URL normalisation: HTML to text, whitespace clean-up, canonical URLs, sites.

Everything here is pure (no I/O) and cheap on the common case: a plain-text
tweet with no ``<`` and no ``&`` goes through :func:`html_to_text` untouched.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.entities import html5 as _HTML5_ENTITIES
from typing import Final
from urllib.parse import quote, unquote_plus, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = [
    "HOST_TRACKING_PARAMETERS",
    "TRACKING_PARAMETERS",
    "TRACKING_PARAMETER_PREFIXES",
    "canonical_url",
    "clean_whitespace",
    "html_to_text",
    "normalize_text",
    "site_of",
]

# --------------------------------------------------------------------------- HTML

#: Elements whose content is never readable text.
_DROPPED_TAGS: Final = frozenset(
    {"script", "style", "noscript", "template", "head", "iframe", "object", "svg", "math"}
)
#: Elements that start a paragraph: a blank line before and after.
_PARAGRAPH_TAGS: Final = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl",
        "table", "figure", "hr",
    }
)  # fmt: skip
#: Other block elements: a line break before and after.
_LINE_TAGS: Final = frozenset(
    {
        "address", "article", "aside", "caption", "dd", "details", "dialog", "div", "dt",
        "fieldset", "figcaption", "footer", "form", "header", "hgroup", "li", "main", "nav",
        "section", "summary", "tr", "html", "body", "center", "tbody", "thead", "tfoot", "legend",
        "option", "title",
    }
)  # fmt: skip
#: Table cells are separated by a space.
_CELL_TAGS: Final = frozenset({"td", "th"})

# A value "looks like HTML" when it holds a well-formed tag of a known HTML element
# (``<p>``, ``<br/>``, ``</b>``, ``<a href="...">``: attributes need an ``=``, so that
# "if a<b and c>d" or "I <3 you" stay plain text), a comment or a doctype.
_KNOWN_TAGS = (
    "a|abbr|address|article|aside|audio|b|big|blockquote|body|br|button|caption|center|cite|"
    "code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|fieldset|figcaption|figure|font|"
    "footer|form|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|"
    "main|mark|math|meta|nav|noscript|object|ol|option|p|picture|pre|q|s|samp|script|section|"
    "select|small|source|span|strike|strong|style|sub|summary|sup|svg|table|tbody|td|template|"
    "textarea|tfoot|th|thead|time|title|tr|tt|u|ul|var|video|wbr"
)
_TAG_RE: Final = re.compile(
    rf"<(?:{_KNOWN_TAGS})(?:\s+[^<>]*?=[^<>]*?)?\s*/?>|</(?:{_KNOWN_TAGS})\s*>|<!--|<!doctype",
    re.IGNORECASE,
)
_ENTITY_RE: Final = re.compile(
    r"&(?:#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)"
)
_HTML_SPACE_RE: Final = re.compile(r"[ \t\n\r\f]+")
_SPACES_AROUND_NL_RE: Final = re.compile(r"[ \t]*\n[ \t]*")
_SPACE_RUN_RE: Final = re.compile(r" {2,}")
_MANY_NL_RE: Final = re.compile(r"\n{3,}")


def _decode_entity(match: re.Match[str]) -> str:
    ref = match.group(0)
    if ref[1] == "#":
        return html.unescape(ref)
    return _HTML5_ENTITIES.get(ref[1:], ref)


def _decode_entities(value: str) -> str:
    """Decode ``&name;`` / ``&#n;`` references only (never ``&name`` without ``;``).

    ``html.unescape`` also decodes legacy references without a semicolon, which
    mangles plain text such as ``?a=1&para=2`` inside a URL.
    """
    return _ENTITY_RE.sub(_decode_entity, value)


def _tidy_lines(text: str) -> str:
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _SPACES_AROUND_NL_RE.sub("\n", text)
    text = _MANY_NL_RE.sub("\n\n", text)
    return text.strip()


class _TextBuilder:
    """Collects text and line breaks; adjacent breaks merge instead of stacking.

    Block boundaries ask for 1 (line) or 2 (paragraph) line breaks and merge by
    maximum; ``<br>`` elements add up (``<br><br>`` is a blank line). Breaks before
    the first text and after the last are dropped, as is whitespace between blocks.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._block = 0
        self._br = 0

    def block(self, lines: int) -> None:
        self._block = max(self._block, lines)

    def line_break(self) -> None:
        self._br += 1

    def text(self, content: str) -> None:
        pending = max(self._block, self._br)
        if content.isspace() and (pending or not self.parts):
            return
        if pending and self.parts:
            self.parts.append("\n" * pending)
        self._block = self._br = 0
        self.parts.append(content)


# Sentinels pushed on the walk stack: they mark the end of an element.
_END_PRE: Final = object()


def _walk_text(root: LexborNode) -> str:
    """Readable text of ``root``: iterative walk (no recursion limit on deep HTML)."""
    out = _TextBuilder()
    stack: list[object] = [root]
    in_pre = 0
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            out.block(item)
            continue
        if item is _END_PRE:
            in_pre -= 1
            continue
        assert isinstance(item, LexborNode)
        tag = item.tag or ""
        if tag == "-text":
            content = item.text_content or ""
            out.text(content if in_pre else _HTML_SPACE_RE.sub(" ", content))
            continue
        if tag.startswith("-") and tag != "-document":  # comments, doctype...
            continue
        if tag in _DROPPED_TAGS:
            continue
        if tag == "br":
            out.line_break()
            continue
        lines = 2 if tag in _PARAGRAPH_TAGS else 1 if tag in _LINE_TAGS else 0
        if lines:
            out.block(lines)
            stack.append(lines)
        elif tag in _CELL_TAGS:
            out.text(" ")
        if tag == "pre":
            in_pre += 1
            stack.append(_END_PRE)
        stack.extend(reversed(list(item.iter(include_text=True))))
    return "".join(out.parts)


def html_to_text(value: str) -> str:
    """Readable text of ``value`` when it looks like HTML; ``value`` unchanged otherwise.

    * Fast path: no ``<`` and no ``&`` → returned as is (the common plain-text case).
    * Only entity references (``AT&amp;T``, ``&lt;3``), no tag → references decoded,
      nothing else touched.
    * Tags of known HTML elements → parsed (selectolax/lexbor). ``script``, ``style``,
      ``noscript``, ``template``, ``head``, ``iframe``, ``object``, ``svg`` and ``math``
      are dropped; paragraphs (``p``, headings, lists, tables, ``blockquote``, ``pre``)
      become blank-line separated, other block elements and ``<br>`` line breaks; source
      whitespace is collapsed (line breaks inside ``<pre>`` are kept); entities are decoded.

    A ``<`` that is not a known tag (``a<b``, ``I <3 you``) keeps the value plain text.
    """
    if "<" not in value and "&" not in value:
        return value
    if "<" not in value or not _TAG_RE.search(value):
        return _decode_entities(value) if "&" in value else value
    root = LexborHTMLParser(value).root
    if root is None:
        return ""
    return _tidy_lines(_walk_text(root.parent or root))


# --------------------------------------------------------------------------- whitespace

# Characters removed outright: C0/C1 controls except \t and \n (line breaks are mapped
# first), zero-width space, word joiner, BOM, Mongolian vowel separator, soft hyphen,
# and unpaired UTF-16 surrogates (they cannot be encoded). ZWJ (U+200D) and ZWNJ
# (U+200C) are kept: they are part of emoji sequences and of Persian/Indic spelling.
_REMOVED_RE: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u180e\u200b\u2060\ufeff\ud800-\udfff]"
)
_LINE_BREAKS_RE: Final = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Horizontal whitespace: tab and every Unicode space separator (no-break spaces too).
_HSPACE_RUN_RE: Final = re.compile("[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEEDS_WORK_RE: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\xa0\u00ad\u1680\u180e\u2000-\u200b\u2028-\u202f\u205f\u2060\u3000\ufeff\ud800-\udfff]|  |\n\n\n| \n|\n "
)


def clean_whitespace(value: str) -> str:
    """Tidy whitespace and invisible characters, then NFC-normalise.

    * ``\\r\\n``, ``\\r``, vertical tab, form feed, NEL, U+2028/U+2029 become ``\\n``.
    * Control characters (except ``\\n``), zero-width space, word joiner, BOM, soft
      hyphen and unpaired surrogates are removed; ZWJ/ZWNJ are kept (emoji, scripts).
    * Runs of tabs and Unicode spaces (no-break spaces included) become one space;
      spaces around line breaks are dropped; at most one blank line is kept.
    * Leading and trailing whitespace is stripped; the result is in NFC.
    """
    if _NEEDS_WORK_RE.search(value):
        value = _LINE_BREAKS_RE.sub("\n", value)
        value = _REMOVED_RE.sub("", value)
        value = _HSPACE_RUN_RE.sub(" ", value)
        value = _SPACES_AROUND_NL_RE.sub("\n", value)
        value = _MANY_NL_RE.sub("\n\n", value)
    value = value.strip()
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value


def normalize_text(value: str) -> str:
    """``clean_whitespace(html_to_text(value))``: the text flocon stores and matches."""
    return clean_whitespace(html_to_text(value))


# --------------------------------------------------------------------------- URLs

#: Query parameters removed from every URL (compared case-insensitively).
TRACKING_PARAMETERS: Final[frozenset[str]] = frozenset(
    {
        # Google / Microsoft / Yandex / Meta / TikTok / X / LinkedIn ads click ids
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid",
        "fbclid", "igshid", "twclid", "ttclid", "li_fat_id", "epik",
        # Google Analytics linker, Mailchimp, HubSpot, Marketo, Vero, Olytics
        "_ga", "_gl", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp",
        "hsctatracking", "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id",
        # Twitter/X embeds, Alibaba, misc.
        "ref_src", "ref_url", "spm", "wickedid", "rb_clickid",
    }
)  # fmt: skip

#: Parameter name prefixes removed from every URL (``utm_source``, ``utm_medium``...).
TRACKING_PARAMETER_PREFIXES: Final[tuple[str, ...]] = ("utm_",)

#: Parameters that are tracking only on some sites (a host or any of its sub-domains).
#: ``si`` is a share id on YouTube and Spotify but may mean something elsewhere.
HOST_TRACKING_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    "youtube.com": frozenset({"si", "feature", "pp"}),
    "youtu.be": frozenset({"si", "feature"}),
    "spotify.com": frozenset({"si", "context"}),
    "twitter.com": frozenset({"s", "t"}),
    "x.com": frozenset({"s", "t"}),
    "instagram.com": frozenset({"igsh"}),
    "tiktok.com": frozenset(
        {"_r", "_t", "is_from_webapp", "sender_device", "sender_web_id", "is_copy_url"}
    ),
    "linkedin.com": frozenset({"trk", "trkinfo", "trackingid", "lipi", "midtoken", "midsig"}),
    "facebook.com": frozenset({"mibextid", "__tn__", "__cft__[0]", "rdid"}),
}

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Characters left as they are in paths and queries (RFC 3986 reserved + unreserved + '%').
_PATH_SAFE: Final = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE: Final = "/?%:@!$&'()*+,;=-._~"


def _host_parameters(host: str) -> frozenset[str]:
    found: frozenset[str] = frozenset()
    for domain, names in HOST_TRACKING_PARAMETERS.items():
        if host == domain or host.endswith("." + domain):
            found = found | names
    return found


def _is_tracking(name: str, host_names: frozenset[str]) -> bool:
    key = unquote_plus(name).strip().lower()
    return (
        key in TRACKING_PARAMETERS
        or key.startswith(TRACKING_PARAMETER_PREFIXES)
        or key in host_names
    )


def _idna_host(host: str) -> str | None:
    host = host.lower().rstrip(".")
    if not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").rstrip(".")
        except UnicodeError:
            return None
    if ":" not in host and any(not label for label in host.split(".")):
        return None  # an empty label ("a..b", or a host of dots only) names no site
    return host


def canonical_url(url: str) -> str | None:
    """The canonical form of an absolute http(s) URL, or None when ``url`` is not one.

    * Scheme and host lower-cased; host IDNA-encoded (``café.fr`` → ``xn--caf-dma.fr``),
      trailing dot dropped; IPv6 hosts keep their brackets.
    * Default port (80 for http, 443 for https), ``user:password@`` and ``#fragment``
      dropped. ``http`` and ``https`` are kept distinct.
    * Empty path → ``/``; other paths kept as they are, trailing slash included
      (``/a`` and ``/a/`` can be different pages). Non-ASCII characters and spaces are
      percent-encoded, existing escapes are left alone.
    * Tracking parameters removed: :data:`TRACKING_PARAMETERS`, any name starting with
      :data:`TRACKING_PARAMETER_PREFIXES`, and :data:`HOST_TRACKING_PARAMETERS` on those
      sites. The other parameters keep their order and spelling (not sorted: some
      sites give order a meaning); empty pieces (``&&``) are dropped, as is an empty
      ``?``.
    """
    candidate = url.strip()
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.hostname is None:
        return None
    host = _idna_host(parts.hostname)
    if host is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    query = ""
    if parts.query:
        host_names = _host_parameters(host.removeprefix("www."))
        kept = [
            quote(piece, safe=_QUERY_SAFE)
            for piece in parts.query.split("&")
            if piece and not _is_tracking(piece.split("=", 1)[0], host_names)
        ]
        query = "&".join(kept)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def site_of(url: str | None) -> str:
    """Lower-case host of ``url`` without a leading ``www.``; ``""`` when unknown.

    The host is returned as written (no IDNA conversion); a trailing dot is dropped.
    """
    if not url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    if not host:
        return ""
    return host.rstrip(".").removeprefix("www.")
