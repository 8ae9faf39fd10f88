"""robots.txt: what a site lets flocon crawl, how slowly, and where its sitemaps are.

:func:`parse_robots` is pure (the standard library's :class:`RobotFileParser` fed
with lines, never asked to read a URL); :func:`robots_for` fetches ``/robots.txt``
of a URL's origin through the shared client and applies the usual conventions
(RFC 9309): missing (404, 410 and other 4xx) → everything allowed; 401/403 →
nothing allowed; server error (5xx) → nothing allowed; network failure →
everything allowed for this run, with a note saying so.

The user-agent token flocon answers to is ``flocon``. The standard parser matches
paths by prefix, first matching rule first: the ``*`` and ``$`` wildcards of some
robots.txt files are not understood (such a rule matches nothing).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from flocon.errors import FetchError, ResponseTooLarge

if TYPE_CHECKING:
    from flocon.connectors.http import HttpClient

logger = logging.getLogger(__name__)

#: The product token matched against ``User-agent:`` lines.
USER_AGENT_TOKEN: Final = "flocon"
#: Bytes of robots.txt read (RFC 9309 asks crawlers to read at least 500 KiB).
MAX_ROBOTS_BYTES: Final = 512 * 1024
_FRACTIONAL_DELAY_RE: Final = re.compile(r"(\s*crawl-delay\s*:\s*)(\d*\.\d+)\s*$", re.IGNORECASE)
_DENY_STATUSES: Final = frozenset({401, 403})
#: Answers read as rules rather than raised (429 stays an error: slow down and retry).
_ACCEPTED: Final = frozenset(range(400, 600)) - {429}


@dataclass(frozen=True, slots=True)
class Robots:
    """The rules of one origin for one user agent.

    ``crawl_delay`` is in seconds (None: none asked); ``sitemaps`` are the absolute
    URLs of the ``Sitemap:`` lines; ``note`` says why the rules are not the file's
    own (missing, refused, unreachable), empty when they are.
    """

    user_agent: str
    crawl_delay: float | None = None
    sitemaps: tuple[str, ...] = ()
    note: str = ""
    allow_all: bool = False
    disallow_all: bool = False
    _parser: RobotFileParser | None = field(default=None, repr=False, compare=False)

    def can_fetch(self, url: str) -> bool:
        """Whether the rules let :attr:`user_agent` fetch ``url``."""
        if self.disallow_all:
            return False
        if self.allow_all or self._parser is None:
            return True
        return self._parser.can_fetch(self.user_agent, url)

    @classmethod
    def allowing_all(cls, user_agent: str = USER_AGENT_TOKEN, *, note: str = "") -> Robots:
        return cls(user_agent, note=note, allow_all=True)

    @classmethod
    def disallowing_all(cls, user_agent: str = USER_AGENT_TOKEN, *, note: str = "") -> Robots:
        return cls(user_agent, note=note, disallow_all=True)


def parse_robots(text: str, *, user_agent: str = USER_AGENT_TOKEN) -> Robots:
    """The rules of a robots.txt file for ``user_agent`` (no I/O)."""
    parser = RobotFileParser()
    lines = [_whole_delay(line) for line in text[:MAX_ROBOTS_BYTES].splitlines()]
    parser.parse(lines)
    delay = parser.crawl_delay(user_agent)
    sitemaps = tuple(dict.fromkeys(parser.site_maps() or ()))
    return Robots(
        user_agent,
        crawl_delay=float(delay) if delay is not None else None,
        sitemaps=sitemaps,
        _parser=parser,
    )


def _whole_delay(line: str) -> str:
    """``Crawl-delay: 2.5`` as ``Crawl-delay: 3``: the standard parser reads whole seconds only."""
    match = _FRACTIONAL_DELAY_RE.match(line)
    if match is None:
        return line
    return f"{match.group(1)}{math.ceil(float(match.group(2)))}"


def robots_url(url: str) -> str:
    """``/robots.txt`` at the origin (scheme, host and port) of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


async def robots_for(http: HttpClient, url: str, user_agent: str = USER_AGENT_TOKEN) -> Robots:
    """Fetch and parse the robots.txt that governs ``url`` (see the module docstring)."""
    where = robots_url(url)
    try:
        response = await http.get(where, accept_statuses=_ACCEPTED)
    except (FetchError, ResponseTooLarge) as exc:
        logger.warning("robots.txt of %s unreachable (%s): crawling as if allowed", where, exc)
        return Robots.allowing_all(
            user_agent, note=f"robots.txt could not be read ({exc}); treated as allowing all"
        )
    status = response.status
    if status in _DENY_STATUSES:
        return Robots.disallowing_all(
            user_agent,
            note=f"robots.txt refused access (status {status}): the site allows no crawling",
        )
    if status >= 500:
        return Robots.disallowing_all(
            user_agent,
            note=f"robots.txt answered with server error {status}: nothing crawled this time",
        )
    if status >= 400:
        return Robots.allowing_all(user_agent)
    return parse_robots(response.text(), user_agent=user_agent)
