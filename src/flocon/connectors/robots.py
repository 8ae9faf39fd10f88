"""robots.txt: what a site lets flocon crawl, how slowly, and where its sitemaps are.

:func:`parse_robots` is pure (the standard library's :class:`RobotFileParser` fed
with lines, never asked to read a URL); :func:`robots_for` fetches ``/robots.txt``
of a URL's origin through the shared client and applies the usual conventions
(RFC 9309): missing (404, 410 and other 4xx) → everything allowed; 401/403 →
nothing allowed; server error (5xx) → nothing allowed; network failure →
everything allowed for this run, with a note saying so.

The user-agent token flocon answers to is ``flocon``. Groups are chosen as the
standard parser chooses them (the first group naming the token, else the ``*``
group); its ``Allow`` / ``Disallow`` rules are matched as RFC 9309 (section 2.2.3)
says: ``*`` matches any run of characters, a final ``$`` anchors the end of the
path (query included), the longest matching rule wins and, between an ``Allow``
and a ``Disallow`` of the same length, ``Allow`` does. Paths and rules are compared
with their percent-encoding normalised (unreserved characters decoded, anything
else outside URI characters encoded as UTF-8, hex digits upper-cased). Each rule is
compiled once, to a prefix or to a regular expression whose ``*`` cannot backtrack.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, unquote, urlsplit
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
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: Characters left as they are in a normalised path: unreserved, reserved, and ``%``.
_URI_CHARS: Final = _UNRESERVED | frozenset(":/?#[]@!$&'()*+,;=%")
_ESCAPE_RE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_STARS_RE: Final = re.compile(r"\*{2,}")


def _normalise(path: str) -> str:
    """``path`` with its percent-encoding normalised, so equal paths compare equal.

    ``%41`` → ``A`` (unreserved characters are decoded), ``%2f`` → ``%2F`` (other
    escapes kept, upper-cased), ``é`` → ``%C3%A9`` and ``" "`` → ``%20`` (characters
    outside the URI set encoded as UTF-8); ``*`` and ``$`` are left as they are.
    """
    out: list[str] = []
    i, n = 0, len(path)
    while i < n:
        char = path[i]
        if char == "%":
            match = _ESCAPE_RE.match(path, i)
            if match is not None:
                decoded = chr(int(match.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
                i += 3
                continue
            out.append("%25")  # a lone % is a literal percent sign
        elif char in _URI_CHARS:
            out.append(char)
        else:
            out.append(quote(char, safe="", errors="surrogatepass"))
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One ``Allow`` / ``Disallow`` line, compiled.

    ``length`` (of the normalised pattern) ranks the rules; ``prefix`` is set for a
    pattern without wildcards (a plain ``startswith``), ``regex`` otherwise.
    """

    allow: bool
    length: int
    prefix: str | None
    regex: re.Pattern[str] | None

    def matches(self, path: str) -> bool:
        if self.prefix is not None:
            return path.startswith(self.prefix)
        assert self.regex is not None
        return self.regex.match(path) is not None


def _compile_rule(pattern: str, *, allow: bool) -> _Rule | None:
    """The rule for a raw ``Allow`` / ``Disallow`` value (None: an empty one, which matches nothing)."""
    normal = _normalise(pattern.strip())
    if not normal:
        return None
    length = len(normal)
    anchored = normal.endswith("$")
    body = _STARS_RE.sub("*", normal[:-1] if anchored else normal)
    if anchored and body.endswith("*"):
        anchored = False  # `*$` matches whatever follows
    body = body.rstrip("*") if not anchored else body
    if not anchored and "*" not in body:
        return _Rule(allow, length, body, None)
    first, *middle = body.split("*")
    last = middle.pop() if middle else None
    parts = [re.escape(first)]
    # Atomic groups: each `*` takes the shortest run that lets its next piece match,
    # never backtracking into it, so no pattern can make matching blow up.
    parts += [f"(?>.*?{re.escape(piece)})" for piece in middle]
    if last is not None:
        parts.append(f".*{re.escape(last)}" if anchored else f"(?>.*?{re.escape(last)})")
    if anchored:
        parts.append(r"\Z")
    return _Rule(allow, length, None, re.compile("".join(parts), re.DOTALL))


def _url_path(url: str) -> str:
    """The normalised path and query of ``url`` (``/`` when it has none), as rules see it."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _normalise(path)


@dataclass(slots=True)
class _Group:
    agents: list[str] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)

    def applies_to(self, user_agent: str) -> bool:
        """As :class:`RobotFileParser` decides it: ``*``, or a token found in the agent's name."""
        name = user_agent.split("/")[0].lower()
        return any(agent == "*" or agent.lower() in name for agent in self.agents)


def _rules_for(lines: list[str], user_agent: str) -> tuple[_Rule, ...]:
    """The compiled rules of the group that applies to ``user_agent``.

    Groups are split exactly as :class:`RobotFileParser` splits them (so that
    ``Crawl-delay``, which it still reads, comes from the same group); only the
    rules' values are kept raw, since it would mangle their ``*``, ``$`` and ``?``.
    """
    groups: list[_Group] = []
    default: _Group | None = None
    group, state = _Group(), 0  # 0: nothing yet, 1: user agents read, 2: rules read

    def close(finished: _Group) -> None:
        nonlocal default
        if "*" in finished.agents:
            if default is None:
                default = finished
        else:
            groups.append(finished)

    for raw in lines:
        if not raw:
            if state == 2:
                close(group)
            if state:
                group, state = _Group(), 0
        line = raw.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if state == 2:
                close(group)
                group = _Group()
            group.agents.append(unquote(value))
            state = 1
        elif key in ("allow", "disallow"):
            if state:
                rule = _compile_rule(value, allow=key == "allow")
                if rule is not None:
                    group.rules.append(rule)
                state = 2
        elif key in ("crawl-delay", "request-rate") and state:
            state = 2
    if state == 2:
        close(group)
    chosen = next((g for g in groups if g.applies_to(user_agent)), default)
    return tuple(chosen.rules) if chosen is not None else ()


def _allowed(rules: tuple[_Rule, ...], path: str) -> bool:
    """The longest matching rule decides (``Allow`` on a tie); no match: allowed."""
    best: _Rule | None = None
    for rule in rules:
        if (best is None or (rule.length, rule.allow) > (best.length, best.allow)) and rule.matches(
            path
        ):
            best = rule
    return best is None or best.allow


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
    _rules: tuple[_Rule, ...] | None = field(default=None, repr=False, compare=False)

    def can_fetch(self, url: str) -> bool:
        """Whether the rules let :attr:`user_agent` fetch ``url``."""
        if self.disallow_all:
            return False
        if self.allow_all or self._rules is None:
            return True
        return _allowed(self._rules, _url_path(url))

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
        _rules=_rules_for(lines, user_agent),
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
