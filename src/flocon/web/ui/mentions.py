"""Pages: mentions — the filtered list with full-text search and cursor pages, one mention in
its thread with its correction, bulk actions (tag, untag, correct the sentiment, mute the
authors or sites) and the list of muted authors and sites.

The list's query string is exactly :meth:`MentionQuery.to_params` (the dashboard's drill-down
links use it), read back with :meth:`MentionQuery.from_params`; the only addition is that a
``since`` / ``until`` typed in the form without an offset is a time of the viewer's zone.

Roles: everyone reads; an agent tags, untags and corrects sentiment; a manager also mutes and
unmutes authors and sites. The actions at the top of this module are shared with the REST API
(flocon.web.api.mentions); the services they call write the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.analysis.datasets import LABELS
from flocon.connectors.registry import CONNECTORS
from flocon.domain.models import Mention
from flocon.errors import ConfigError, NotFound
from flocon.services import alerting, analysis, tags
from flocon.services import mentions as svc
from flocon.services.mentions import BadFilter, MentionQuery
from flocon.storage.engine import read
from flocon.storage.queries import mention_lists
from flocon.storage.queries import workspaces as wsq
from flocon.web import i18n
from flocon.web.deps import Ctx, as_agent, as_manager, as_viewer
from flocon.web.i18n import _, ngettext
from flocon.web.render import page
from flocon.web.security import csrf_protect
from flocon.web.ui.auth import safe_next

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Agent = Annotated[Ctx, Depends(as_agent)]
Manager = Annotated[Ctx, Depends(as_manager)]

#: Mentions per page of the list.
PAGE_SIZE: Final = 50
#: The list counts its mentions up to this many, then shows "10,000+ mentions" (an exact
#: count of a million mentions costs 0.3 s on every view).
COUNT_SHOWN: Final = 10_000
#: Bulk actions and the role each needs.
ACTIONS: Final[dict[str, str]] = {
    "tag": "agent",
    "untag": "agent",
    "correct": "agent",
    "mute_author": "manager",
    "mute_site": "manager",
}
#: Query-string names of a notice after an action (never filters).
_NOTICE_KEYS: Final = frozenset({"done", "n", "value"})


# -- actions shared with the REST API ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk action did: ``changed`` mentions (tag, untag, correct) or authors / sites
    (mute_author, mute_site, listed in ``muted``); ``value`` is the tag or label applied."""

    action: str
    changed: int
    value: str | None
    muted: tuple[str, ...] = ()


def mentions_by_ids(ctx: Ctx, ids: Iterable[int]) -> dict[int, Mention]:
    """The mentions of the workspace among ``ids`` (others are left out)."""
    with read(ctx.engine) as conn:
        ws = wsq.get_by_name(conn, ctx.workspace)
        return mention_lists.by_ids(conn, ws.id, sorted(set(ids)))


def _author_of(m: Mention) -> str | None:
    raw = m.author_handle or m.author_name
    if not raw:
        return None
    try:
        return tags.author_key(raw)
    except ConfigError:
        return None


def bulk_action(ctx: Ctx, action: str, ids: Sequence[int], value: str | None) -> BulkResult:
    """Apply ``action`` to the mentions ``ids`` of the workspace (other ids are ignored).

    tag / untag: ``value`` is the tag; correct: ``value`` is the sentiment; mute_author /
    mute_site: the authors or sites of these mentions are muted (``value`` unused). Tagging
    and correcting need the agent role, muting the manager role.
    """
    needed = ACTIONS.get(action)
    if needed is None:
        raise ConfigError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    ctx.require(needed)
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        raise ConfigError("select at least one mention")
    if len(wanted) > tags.MAX_IDS:
        raise ConfigError(f"at most {tags.MAX_IDS} mentions at once")
    text = (value or "").strip()
    if action in ("tag", "untag"):
        tag = tags.normalise_tag(text)
        if action == "tag":
            done = tags.tag_mentions(ctx.engine, ctx.workspace, wanted, tag, actor=ctx.actor)
        else:
            done = tags.untag_mentions(ctx.engine, ctx.workspace, wanted, tag, actor=ctx.actor)
        return BulkResult(action=action, changed=done, value=tag)
    if action == "correct":
        if text not in LABELS:
            raise ConfigError(f"sentiment must be one of {', '.join(LABELS)} (got {text!r})")
        done = analysis.correct_many(ctx.engine, ctx.workspace, wanted, text, by=ctx.actor)
        return BulkResult(action=action, changed=done, value=text)
    found = mentions_by_ids(ctx, wanted).values()
    if action == "mute_author":
        keys = sorted({k for k in (_author_of(m) for m in found) if k})
        for key in keys:
            tags.mute(ctx.engine, ctx.workspace, kind="author", value=key, actor=ctx.actor)
    else:
        keys = sorted({m.site for m in found if m.site})
        for key in keys:
            tags.mute(ctx.engine, ctx.workspace, kind="site", value=key, actor=ctx.actor)
    return BulkResult(action=action, changed=len(keys), value=None, muted=tuple(keys))


def set_mute(ctx: Ctx, kind: str, value: str, *, muted: bool) -> str:
    """Mute or unmute an author or a site (manager+); returns the stored key."""
    ctx.require("manager")
    if kind not in ("author", "site"):
        raise ConfigError(f"one mutes an author or a site, not {kind!r}")
    chosen: tags.MuteKind = "author" if kind == "author" else "site"
    key = tags.author_key(value) if chosen == "author" else tags.site_key(value)
    if muted:
        tags.mute(ctx.engine, ctx.workspace, kind=chosen, value=key, actor=ctx.actor)
    else:
        tags.unmute(ctx.engine, ctx.workspace, kind=chosen, value=key, actor=ctx.actor)
    return key


# -- the query string --------------------------------------------------------------------------


def _to_utc(raw: str, tz: ZoneInfo) -> str:
    """A date typed in the form (no offset: the viewer's zone) as an ISO UTC time; values
    with an offset, and values that are not dates, are left to ``from_params``."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if parsed.tzinfo is not None:
        return raw
    return parsed.replace(tzinfo=tz).astimezone(UTC).isoformat()


def count_text(count: int) -> str:
    """The list's count: "N mentions", or "10,000+ mentions" past :data:`COUNT_SHOWN`."""
    if count > COUNT_SHOWN:
        return _("%(num)s+ mentions", num=i18n.fmt_number(COUNT_SHOWN))
    return ngettext("%(num)s mention", "%(num)s mentions", count, num=i18n.fmt_number(count))


def page_query(pairs: Iterable[tuple[str, str]], tz: ZoneInfo) -> MentionQuery:
    """The filters of the page's query string; BadFilter names a wrong one."""
    fixed = [
        (
            name,
            _to_utc(value.strip(), tz) if name in ("since", "until") and value.strip() else value,
        )
        for name, value in pairs
    ]
    return MentionQuery.from_params(fixed)


def local_input(value: datetime | None, tz: ZoneInfo) -> str:
    """A UTC time as a ``datetime-local`` input value in the viewer's zone."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def list_url(ws: str, query: MentionQuery, cursor: str | None = None) -> str:
    """The list of ``query`` (and page ``cursor``), in the canonical query-string form."""
    pairs = query.to_params() + ([("cursor", cursor)] if cursor else [])
    return f"/w/{ws}/mentions" + (f"?{urlencode(pairs)}" if pairs else "")


def _form_values(pairs: Sequence[tuple[str, str]], tz: ZoneInfo) -> dict[str, Any]:
    """What the filter form shows: the values of the query string as typed."""
    values: dict[str, Any] = {"watch": []}
    for name, raw in pairs:
        if name == "watch":
            values["watch"].append(raw)
        elif name in ("since", "until") and raw.strip():
            try:
                parsed = datetime.fromisoformat(_to_utc(raw.strip(), tz))
                values[name] = local_input(parsed, tz) if parsed.tzinfo else raw
            except ValueError:
                values[name] = raw
        else:
            values[name] = raw
    return values


def _back(next_url: str, ws: str, **notice: str | int) -> str:
    """``next_url`` when it is a mentions page of this workspace, with a notice."""
    target = safe_next(next_url)
    base = f"/w/{ws}/mentions"
    if target != base and not target.startswith((base + "?", base + "/")):
        target = base
    parts = urlsplit(target)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    pairs = [(k, v) for k, v in pairs if k not in _NOTICE_KEYS]
    pairs.extend((k, str(v)) for k, v in notice.items() if v != "")
    return parts.path + (f"?{urlencode(pairs)}" if pairs else "")


def _here(request: Request) -> str:
    """This page's address without its notice."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in _NOTICE_KEYS]
    return request.url.path + (f"?{urlencode(pairs)}" if pairs else "")


# -- labels and notices ------------------------------------------------------------------------


def sentiment_labels() -> dict[str, str]:
    return {
        "positive": _("positive"),
        "neutral": _("neutral"),
        "negative": _("negative"),
        "unknown": _("unknown"),
    }


def notice_of(done: str, n: str, value: str) -> str | None:
    """The result of the last action, from the redirect's query string."""
    try:
        count = max(0, int(n or "0"))
    except ValueError:
        count = 0
    num = i18n.fmt_number(count)
    if done == "tag":
        return ngettext(
            "%(num)s mention tagged '%(tag)s'.",
            "%(num)s mentions tagged '%(tag)s'.",
            count,
            num=num,
            tag=value,
        )
    if done == "untag":
        return ngettext(
            "Tag '%(tag)s' removed from %(num)s mention.",
            "Tag '%(tag)s' removed from %(num)s mentions.",
            count,
            num=num,
            tag=value,
        )
    if done == "correct":
        label = sentiment_labels().get(value, value)
        return ngettext(
            "Sentiment of %(num)s mention set to %(label)s.",
            "Sentiment of %(num)s mentions set to %(label)s.",
            count,
            num=num,
            label=label,
        )
    if done == "mute_author":
        return ngettext(
            "%(num)s author muted: their mentions are hidden from lists.",
            "%(num)s authors muted: their mentions are hidden from lists.",
            count,
            num=num,
        )
    if done == "mute_site":
        return ngettext(
            "%(num)s site muted: its mentions are hidden from lists.",
            "%(num)s sites muted: their mentions are hidden from lists.",
            count,
            num=num,
        )
    if done == "muted":
        return _("'%(value)s' is muted.", value=value)
    if done == "unmuted":
        return _("'%(value)s' is shown again.", value=value)
    return None


@dataclass(frozen=True, slots=True)
class _Mutes:
    authors: frozenset[str]
    sites: frozenset[str]

    def hides_site(self, site: str) -> bool:
        """A muted site hides its subdomains too."""
        return bool(site) and any(site == s or site.endswith("." + s) for s in self.sites)

    def hides(self, m: Mention) -> bool:
        author = _author_of(m)
        return bool(author and author in self.authors) or self.hides_site(m.site or "")


def _mutes(ctx: Ctx) -> _Mutes:
    found = tags.list_mutes(ctx.engine, ctx.workspace)
    return _Mutes(
        authors=frozenset(m.value for m in found if m.kind == "author"),
        sites=frozenset(m.value for m in found if m.kind == "site"),
    )


def _kinds() -> list[str]:
    """Source kinds offered in the filter (any other can be typed)."""
    return sorted({*CONNECTORS, "import", "push"})


# -- pages -------------------------------------------------------------------------------------


@router.get("/mentions", response_class=HTMLResponse, include_in_schema=False)
def mention_list(
    request: Request,
    ctx: Viewer,
    cursor: str = "",
    done: str = "",
    n: str = "",
    value: str = "",
) -> HTMLResponse:
    tz = i18n.current().tz
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in _NOTICE_KEYS]
    error: str | None = None
    items: list[Mention] = []
    next_url: str | None = None
    count = 0
    query = MentionQuery()
    try:
        query = page_query(pairs, tz)
        result = svc.page_mentions(
            ctx.engine, ctx.workspace, query, cursor=cursor or None, limit=PAGE_SIZE
        )
        count = svc.count_mentions(ctx.engine, ctx.workspace, query, at_most=COUNT_SHOWN + 1)
        items = result.items
        if result.next_cursor:
            next_url = list_url(ctx.workspace, query, result.next_cursor)
    except (BadFilter, NotFound) as exc:
        error = str(exc)
    mutes = _mutes(ctx) if query.include_muted else None
    return page(
        request,
        "mentions/list.html",
        ctx=ctx,
        status_code=400 if error else 200,
        items=items,
        muted_ids={m.id for m in items if mutes is not None and mutes.hides(m)},
        count_text=count_text(count),
        next_url=next_url,
        first_url=list_url(ctx.workspace, query) if cursor else None,
        here=_here(request),
        form=_form_values(pairs, tz),
        watches=alerting.watches_of(ctx.engine, ctx.workspace),
        tag_choices=[t for t, _n in tags.list_tags(ctx.engine, ctx.workspace)],
        kind_choices=_kinds(),
        sentiments=sentiment_labels(),
        labels=LABELS,
        error=error,
        notice=notice_of(done, n, value),
    )


@router.get("/mentions/{mention_id:int}", response_class=HTMLResponse, include_in_schema=False)
def mention_page(
    request: Request, ctx: Viewer, mention_id: int, done: str = "", n: str = "", value: str = ""
) -> HTMLResponse:
    found = svc.thread(ctx.engine, ctx.workspace, mention_id)
    mutes = _mutes(ctx)
    root = found.root
    return page(
        request,
        "mentions/detail.html",
        ctx=ctx,
        thread=found,
        m=root,
        correction=analysis.correction_of(ctx.engine, ctx.workspace, mention_id),
        author_key=_author_of(root),
        author_muted=(_author_of(root) or "") in mutes.authors,
        site_muted=mutes.hides_site(root.site or ""),
        here=_here(request),
        sentiments=sentiment_labels(),
        labels=LABELS,
        tag_choices=[t for t, _n in tags.list_tags(ctx.engine, ctx.workspace)],
        notice=notice_of(done, n, value),
    )


@router.post("/mentions/bulk", include_in_schema=False)
def bulk(
    request: Request,
    ctx: Agent,
    action: Annotated[str, Form()],
    ids: Annotated[list[int] | None, Form()] = None,
    value: Annotated[str, Form()] = "",
    sentiment: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    chosen = sentiment if action == "correct" and sentiment else value
    result = bulk_action(ctx, action, ids or [], chosen)
    shown = result.value if result.value is not None else ""
    target = _back(next, ctx.workspace, done=action, n=result.changed, value=shown)
    return RedirectResponse(target, status_code=303)


@router.get("/mentions/mutes", response_class=HTMLResponse, include_in_schema=False)
def mutes_page(request: Request, ctx: Manager, done: str = "", value: str = "") -> HTMLResponse:
    return page(
        request,
        "mentions/mutes.html",
        ctx=ctx,
        mutes=tags.list_mutes(ctx.engine, ctx.workspace),
        notice=notice_of(done, "0", value),
    )


@router.post("/mentions/mutes", include_in_schema=False)
def add_mute(
    request: Request,
    ctx: Manager,
    kind: Annotated[str, Form()],
    value: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    key = set_mute(ctx, kind, value, muted=True)
    target = _back(
        next or f"/w/{ctx.workspace}/mentions/mutes", ctx.workspace, done="muted", value=key
    )
    return RedirectResponse(target, status_code=303)


@router.post("/mentions/mutes/remove", include_in_schema=False)
def remove_mute(
    request: Request,
    ctx: Manager,
    kind: Annotated[str, Form()],
    value: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    key = set_mute(ctx, kind, value, muted=False)
    target = _back(
        next or f"/w/{ctx.workspace}/mentions/mutes", ctx.workspace, done="unmuted", value=key
    )
    return RedirectResponse(target, status_code=303)
