"""Schemas of the sources API (inputs refuse unknown fields), the conversions from service
records, and the form of each source kind (its target, options and credential keys) that
the pages and ``GET /source-kinds`` share. Credentials go in, never out: responses name the
keys that are set, not their values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from flocon.connectors.base import FetchResult
from flocon.domain.models import Source
from flocon.services.sources import HourBucket, SourceActivity, SourceHealth


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceCreate(_Input):
    """A new source. ``options`` and ``credentials`` are the kind's settings
    (docs/sources.md); credentials are stored encrypted and never shown again."""

    kind: str = Field(min_length=1, max_length=50, description="feed, web, site, reddit...")
    target: str = Field(min_length=1, max_length=2000, description="What to read.")
    name: str | None = Field(default=None, max_length=300, description="Default: the target.")
    every: str = Field(default="15m", max_length=20, description="Interval: 90s, 10m, 2h, 1d.")
    options: dict[str, str] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)


class SourceUpdate(_Input):
    """Fields to change; those left out stay. ``options`` and ``credentials`` are merged
    into the stored ones, and a key given as ``""`` is removed. A new ``target`` resets the
    source's cursor."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    target: str | None = Field(default=None, min_length=1, max_length=2000)
    every: str | None = Field(default=None, max_length=20)
    options: dict[str, str] | None = None
    credentials: dict[str, str] | None = None


class SourcePublic(BaseModel):
    """A source and its health. ``health``: ok, failing, down (failing for longer than the
    down threshold), paused, new (never fetched) or manual (a file import)."""

    id: int
    kind: str
    name: str
    target: str
    every_s: int | None
    options: dict[str, str]
    credentials_set: bool
    credential_keys: list[str] | None = Field(
        default=None, description="Names of the stored credentials (values are never shown)."
    )
    paused: bool
    state: str
    health: str
    items_24h: int | None = None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_since: datetime | None
    next_run_at: datetime | None
    last_items: int
    created_at: datetime


class SourceList(BaseModel):
    items: list[SourcePublic]
    next_cursor: str | None


class HourPublic(BaseModel):
    start: datetime
    items: int
    state: str = Field(description="before, down, error, items or empty.")


class ActivityPublic(BaseModel):
    """Items collected per hour over the last 7 days, oldest first, with the hours the
    source was failing (see docs/web.md, Sources)."""

    hours: list[HourPublic]
    newest_item_at: datetime | None
    down_hours: int
    empty_hours: int


class SourceTestItem(BaseModel):
    id: str | None
    title: str | None
    text: str
    url: str | None
    author: str | None
    published_at: datetime | None
    parent_id: str | None


class SourceTestResult(BaseModel):
    """What one fetch would store now (nothing is stored), or why it failed."""

    ok: bool
    error: str | None = None
    not_modified: bool = False
    items: int = 0
    note: str = ""
    sample: list[SourceTestItem] = Field(default_factory=list)


class Deleted(BaseModel):
    deleted: int


# --------------------------------------------------------------------------- conversions


def health_of(source: Source, *, down: bool, now: datetime | None = None) -> str:
    """ok, failing, down, paused, new or manual."""
    state = source.state(now or datetime.now(UTC))
    if state in ("failing", "backing off"):
        return "down" if down else "failing"
    return state


def source_public(
    source: Source,
    *,
    down: bool = False,
    items_24h: int | None = None,
    credential_keys: list[str] | None = None,
) -> SourcePublic:
    now = datetime.now(UTC)
    return SourcePublic(
        id=source.id,
        kind=source.kind,
        name=source.name,
        target=source.target,
        every_s=source.every_s,
        options=dict(source.options),
        credentials_set=source.has_credentials,
        credential_keys=credential_keys,
        paused=source.paused,
        state=source.state(now),
        health=health_of(source, down=down, now=now),
        items_24h=items_24h,
        last_run_at=source.last_run_at,
        last_success_at=source.last_success_at,
        last_error=source.last_error,
        last_error_at=source.last_error_at,
        failing_since=source.failing_since,
        next_run_at=source.next_run_at,
        last_items=source.last_items,
        created_at=source.created_at,
    )


def health_public(h: SourceHealth) -> SourcePublic:
    return source_public(h.source, down=h.down, items_24h=h.items_24h)


def hour_public(b: HourBucket) -> HourPublic:
    return HourPublic(start=b.start, items=b.items, state=b.state)


def activity_public(a: SourceActivity) -> ActivityPublic:
    return ActivityPublic(
        hours=[hour_public(b) for b in a.hours],
        newest_item_at=a.newest_item_at,
        down_hours=a.down_hours,
        empty_hours=a.empty_hours,
    )


def source_test_result(result: FetchResult, *, limit: int = 20) -> SourceTestResult:
    return SourceTestResult(
        ok=True,
        not_modified=result.not_modified,
        items=len(result.drafts),
        note=result.note,
        sample=[
            SourceTestItem(
                id=d.external_id,
                title=d.title,
                text=d.text[:500],
                url=d.url,
                author=(d.author.handle or d.author.name) if d.author else None,
                published_at=d.published_at,
                parent_id=d.parent_external_id,
            )
            for d in result.drafts[:limit]
        ],
    )


# --------------------------------------------------------------------------- forms per kind


def N_(message: str) -> str:
    """Mark a message for translation; it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class KindField:
    """One option or credential of a source kind, as a form field. ``label`` and ``help``
    are English messages, translated where they are shown."""

    key: str
    label: str
    help: str = ""
    type: str = "text"  # text, number, bool or url
    min: int | None = None
    max: int | None = None
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class KindForm:
    """What the add and edit forms ask for a source kind (docs/sources.md has the rest)."""

    kind: str
    summary: str
    target_help: str
    target_placeholder: str = ""
    options: tuple[KindField, ...] = ()
    credentials: tuple[KindField, ...] = ()


_LOOKBACK = KindField(
    "lookback_hours",
    N_("Look back (hours)"),
    N_("How far back the first fetch of a search goes."),
    "number",
    1,
    720,
)

KIND_FORMS: dict[str, KindForm] = {
    "feed": KindForm(
        "feed",
        N_("RSS, Atom or JSON Feed of a blog, news site, forum or Google Alert."),
        N_("The address of the feed itself, starting with https://."),
        "https://www.example.org/feed.xml",
    ),
    "web": KindForm(
        "web",
        N_("One article, forum thread or review page, with every comment."),
        N_("The full address of the page, starting with https://."),
        "https://blog.example.org/2024/01/article/",
        options=(
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages of a long thread read per fetch (default 10)."),
                "number",
                1,
                100,
            ),
        ),
    ),
    "site": KindForm(
        "site",
        N_("The pages of a site or a section of it, following its links."),
        N_("The start page: the crawl stays under its host and path."),
        "https://blog.example.org/news/",
        options=(
            KindField(
                "max_depth",
                N_("Link depth"),
                N_("Link hops followed from the start page (default 2)."),
                "number",
                0,
                10,
            ),
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages requested per fetch (default 50)."),
                "number",
                1,
                500,
            ),
            KindField(
                "include",
                N_("Only pages matching"),
                N_("A regular expression searched in each page's path."),
            ),
            KindField(
                "exclude",
                N_("Skip pages matching"),
                N_("A regular expression; matching pages are not crawled."),
            ),
        ),
    ),
    "hackernews": KindForm(
        "hackernews",
        N_("Hacker News stories and comments matching a search or your watches."),
        N_("A search (at most 200 characters), or watches: search the words your watches need."),
        "sqlite",
        options=(
            _LOOKBACK,
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages of 100 results read per search and fetch (default 5)."),
                "number",
                1,
                10,
            ),
        ),
    ),
    "reddit": KindForm(
        "reddit",
        N_("Reddit posts and comments: searches, subreddits, a post's comments."),
        N_("search:QUERY, r/SUBREDDIT, r/SUBREDDIT?q=QUERY, comments:POST_URL, or watches."),
        "r/france",
        options=(
            KindField(
                "limit", N_("Items per page"), N_("1 to 100 (default 100)."), "number", 1, 100
            ),
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages per search or listing and fetch (default 3)."),
                "number",
                1,
                10,
            ),
            KindField(
                "max_more",
                N_("Left-out comment calls"),
                N_("Calls for left-out comments per fetch of a post (default 10)."),
                "number",
                0,
                50,
            ),
        ),
        credentials=(
            KindField("client_id", N_("App id"), N_("Of a Reddit app (recommended).")),
            KindField("client_secret", N_("App secret"), N_("Of the same Reddit app.")),
            KindField("username", N_("Reddit user name"), N_("Only for an app of type script.")),
            KindField("password", N_("Reddit password"), N_("Only for an app of type script.")),
        ),
    ),
    "mastodon": KindForm(
        "mastodon",
        N_("Mastodon statuses: hashtags, public timelines, search, on any instance."),
        N_("#hashtag@instance, public@instance, search:QUERY@instance or watches@instance."),
        "#sqlite@fosstodon.org",
        options=(
            KindField(
                "local",
                N_("Local only"),
                N_("Only statuses of the instance's own users."),
                "bool",
            ),
            KindField(
                "stream",
                N_("Follow in real time"),
                N_("Hashtag and public targets only."),
                "bool",
            ),
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages of 40 statuses per timeline or keyword (default 3)."),
                "number",
                1,
                10,
            ),
            KindField(
                "window",
                N_("Stream window (s)"),
                N_("Seconds of stream a test or a single fetch reads (default 30)."),
                "number",
                1,
                300,
            ),
        ),
        credentials=(
            KindField(
                "access_token",
                N_("Access token"),
                N_("Needed for search and watches; scope read."),
            ),
        ),
    ),
    "bluesky": KindForm(
        "bluesky",
        N_("Bluesky posts matching a search or your watches, or the whole network live."),
        N_("A search, watches, or jetstream (every new post, filtered by your watches)."),
        "watches",
        options=(
            _LOOKBACK,
            KindField(
                "max_pages",
                N_("Pages per fetch"),
                N_("Pages of 100 posts per search and fetch (default 3)."),
                "number",
                1,
                10,
            ),
            KindField(
                "service",
                N_("Account server"),
                N_("Where the account lives (default https://bsky.social)."),
                "url",
            ),
        ),
        credentials=(
            KindField("identifier", N_("Handle or e-mail"), N_("The account used to search.")),
            KindField(
                "app_password",
                N_("App password"),
                N_("Settings → Privacy and security → App passwords."),
            ),
        ),
    ),
    "youtube": KindForm(
        "youtube",
        N_("YouTube comments of a video, a channel's videos, or a video search."),
        N_("video:ID or a video address, channel:UC…, search:QUERY, or watches."),
        "video:dQw4w9WgXcQ",
        options=(
            KindField(
                "daily_quota",
                N_("Daily quota"),
                N_("API units this source may spend a day (default 10000)."),
                "number",
                1,
                10_000_000,
            ),
            KindField(
                "max_videos",
                N_("Videos per fetch"),
                N_("Videos read per fetch (default 5)."),
                "number",
                1,
                50,
            ),
            KindField(
                "max_pages",
                N_("Pages per video"),
                N_("Pages of comment threads per video (default 3)."),
                "number",
                1,
                20,
            ),
            _LOOKBACK,
        ),
        credentials=(KindField("api_key", N_("API key"), N_("YouTube Data API v3 key.")),),
    ),
}


def kind_form(kind: str, summary: str = "") -> KindForm:
    """The form of ``kind``; a plugin's kind gets a bare one (options and credentials are
    then typed as key=value lines)."""
    found = KIND_FORMS.get(kind)
    if found is not None:
        return found
    return KindForm(kind, summary, N_("What to read (see the connector's documentation)."))


class KindFieldPublic(BaseModel):
    key: str
    label: str
    help: str
    type: str
    min: int | None
    max: int | None


class KindPublic(BaseModel):
    """A source kind: what its target is, its options and the credentials it takes."""

    kind: str
    summary: str
    target_help: str
    options: list[KindFieldPublic]
    credentials: list[KindFieldPublic]


def kind_public(form: KindForm) -> KindPublic:
    def field(f: KindField) -> KindFieldPublic:
        return KindFieldPublic(
            key=f.key, label=f.label, help=f.help, type=f.type, min=f.min, max=f.max
        )

    return KindPublic(
        kind=form.kind,
        summary=form.summary,
        target_help=form.target_help,
        options=[field(f) for f in form.options],
        credentials=[field(f) for f in form.credentials],
    )
