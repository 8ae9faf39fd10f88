"""REST API v1: mentions (filtered cursor pages, one mention, its thread, a count), bulk actions
(tag, untag, correct the sentiment, mute authors or sites), tags, mutes, and ``push``: mentions
sent by any tool that can call a webhook, in the import format (docs/import.md), through the
real import service.

Roles as on the pages: everyone reads; an agent tags and corrects; a manager mutes and
pushes. A read-only API token acts as a viewer, so it can neither act nor push.
"""

from __future__ import annotations

import io
import json
import unicodedata
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from flocon.errors import ConfigError
from flocon.services import accounts, analysis, importing, tags
from flocon.services import mentions as svc
from flocon.services.mentions import MentionQuery
from flocon.web.api.schemas_mentions import (
    BulkIn,
    BulkOut,
    CorrectionOut,
    ErrorOut,
    MentionCount,
    MentionDetail,
    MentionList,
    MentionOut,
    MuteChange,
    MuteIn,
    MuteList,
    MuteOut,
    PushReport,
    RejectedOut,
    TagList,
    TagOut,
    ThreadOut,
)
from flocon.web.api.schemas_workspace import DEFAULT_LIMIT, MAX_LIMIT, slice_page
from flocon.web.deps import Ctx, as_manager, as_viewer, audit
from flocon.web.ui import mentions as actions

router = APIRouter(prefix="/workspaces/{ws}", tags=["mentions"])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Manager = Annotated[Ctx, Depends(as_manager)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="The previous page's next_cursor.")]

#: The largest body ``push`` reads, and the most items it takes in one call.
MAX_PUSH_BYTES: Final = 5 * 1024 * 1024
MAX_PUSH_ITEMS: Final = 10_000
#: Content types of ``push``: JSON lines, or JSON (an array of objects or one object).
JSONL_TYPES: Final = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
    }
)
JSON_TYPES: Final = frozenset({"application/json", ""})


# -- mentions ----------------------------------------------------------------------------------


def _query(watch: list[str] | None, values: dict[str, str | None]) -> MentionQuery:
    """The query of the filter parameters, read exactly as the pages read theirs."""
    pairs = [("watch", w) for w in watch or []]
    pairs.extend((k, v) for k, v in values.items() if v is not None)
    return MentionQuery.from_params(pairs)


@router.get("/mentions", response_model=MentionList)
def list_mentions(
    ctx: Viewer,
    watch: Annotated[
        list[str] | None, Query(description="A watch name; repeat it for any of several.")
    ] = None,
    since: Annotated[
        str | None, Query(description="ISO 8601 date or time, included (no offset: UTC).")
    ] = None,
    until: Annotated[
        str | None, Query(description="ISO 8601 date or time, excluded (no offset: UTC).")
    ] = None,
    search: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Full text: every word must appear (accents and case folded).",
        ),
    ] = None,
    sentiment: Annotated[
        str | None, Query(description="positive, neutral, negative or unknown.")
    ] = None,
    lang: Annotated[str | None, Query(max_length=20, description="e.g. fr")] = None,
    source_kind: Annotated[str | None, Query(max_length=50, description="e.g. rss")] = None,
    site: Annotated[
        str | None, Query(max_length=300, description="A host (www. does not matter).")
    ] = None,
    author: Annotated[
        str | None, Query(max_length=300, description="A handle or name (@, case ignored).")
    ] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    needs_answer: Annotated[str | None, Query(description="true or false.")] = None,
    include_unmatched: Annotated[
        str | None, Query(description="true: also mentions no watch matched.")
    ] = None,
    include_duplicates: Annotated[
        str | None, Query(description="false: leave duplicates out.")
    ] = None,
    include_muted: Annotated[
        str | None, Query(description="true: also mentions of muted authors and sites.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> MentionList:
    """Mentions newest first, filtered; the parameters are those of the mentions page's
    address (the dashboard's drill-down links use them too). Without ``watch``, mentions of
    any watch; muted authors and sites are left out unless ``include_muted``."""
    query = _query(
        watch,
        {
            "since": since,
            "until": until,
            "search": search,
            "sentiment": sentiment,
            "lang": lang,
            "source_kind": source_kind,
            "site": site,
            "author": author,
            "tag": tag,
            "needs_answer": needs_answer,
            "include_unmatched": include_unmatched,
            "include_duplicates": include_duplicates,
            "include_muted": include_muted,
        },
    )
    result = svc.page_mentions(ctx.engine, ctx.workspace, query, cursor=cursor, limit=limit)
    return MentionList(
        items=[MentionOut.of(m) for m in result.items], next_cursor=result.next_cursor
    )


@router.get("/mentions/count", response_model=MentionCount)
def count_mentions(
    request: Request,
    ctx: Viewer,
) -> MentionCount:
    """How many mentions the same filters as ``GET /mentions`` select (``cursor`` and
    ``limit`` ignored)."""
    query = MentionQuery.from_params(request.query_params.multi_items())
    return MentionCount(count=svc.count_mentions(ctx.engine, ctx.workspace, query))


@router.get("/mentions/{mention_id}", response_model=MentionDetail)
def get_mention(ctx: Viewer, mention_id: int) -> MentionDetail:
    """One mention, with the team's correction of its sentiment."""
    found = svc.get_mention(ctx.engine, ctx.workspace, mention_id)
    correction = analysis.correction_of(ctx.engine, ctx.workspace, mention_id)
    return MentionDetail(
        **MentionOut.of(found).model_dump(),
        correction=CorrectionOut.of(correction) if correction else None,
    )


@router.get("/mentions/{mention_id}/thread", response_model=ThreadOut)
def get_thread(ctx: Viewer, mention_id: int) -> ThreadOut:
    """A mention with its parents (from the top of the thread down) and its replies (depth
    first, oldest first at each level); ``truncated`` when the thread was cut."""
    return ThreadOut.of(svc.thread(ctx.engine, ctx.workspace, mention_id))


@router.post("/mentions/bulk", response_model=BulkOut)
def bulk(ctx: Viewer, body: BulkIn) -> BulkOut:
    """Act on mentions: ``tag`` / ``untag`` (``value``: the tag) and ``correct`` (``value``:
    the sentiment) need the agent role; ``mute_author`` / ``mute_site`` mute the authors or
    sites of these mentions and need the manager role. Ids of other workspaces are ignored.
    Every change is written to the audit log."""
    result = actions.bulk_action(ctx, body.action, body.ids, body.value)
    return BulkOut(
        action=result.action, changed=result.changed, value=result.value, muted=list(result.muted)
    )


# -- tags and mutes ----------------------------------------------------------------------------


@router.get("/tags", response_model=TagList)
def list_tags(ctx: Viewer, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> TagList:
    """The workspace's tags with their number of mentions, most used first."""
    items, nxt = slice_page(tags.list_tags(ctx.engine, ctx.workspace), cursor, limit)
    return TagList(items=[TagOut(tag=t, mentions=n) for t, n in items], next_cursor=nxt)


@router.get("/mutes", response_model=MuteList)
def list_mutes(ctx: Manager, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> MuteList:
    """Muted authors and sites (manager or above): their mentions are hidden from lists."""
    items, nxt = slice_page(tags.list_mutes(ctx.engine, ctx.workspace), cursor, limit)
    return MuteList(items=[MuteOut.of(m) for m in items], next_cursor=nxt)


@router.post("/mutes", response_model=MuteChange, status_code=201)
def add_mute(ctx: Manager, body: MuteIn) -> MuteChange:
    """Mute an author (handle or name) or a site (a host; its subdomains too), manager or
    above. Muting twice is harmless."""
    key = actions.set_mute(ctx, body.kind, body.value, muted=True)
    return MuteChange(kind=body.kind, value=key, muted=True)


@router.delete("/mutes/{kind}/{value}", response_model=MuteChange)
def remove_mute(ctx: Manager, kind: str, value: str) -> MuteChange:
    """Show an author's or a site's mentions again (manager or above); 404 when not muted."""
    key = actions.set_mute(ctx, kind, value, muted=False)
    return MuteChange(kind=kind, value=key, muted=False)


# -- push --------------------------------------------------------------------------------------


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _too_large() -> JSONResponse:
    return _error(
        413,
        f"the body is larger than {MAX_PUSH_BYTES // (1024 * 1024)} MiB: split the items "
        "into several calls",
    )


def _source_name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= 100 or any(unicodedata.category(c).startswith("C") for c in name):
        raise ConfigError("source must be a name of 1 to 100 printable characters")
    return name


def as_json_lines(body: bytes, content_type: str) -> tuple[bytes, int]:
    """The body as JSON lines, and how many items it holds.

    JSON lines are kept as they are (line numbers are the body's). A JSON body is an array
    (one line per item: the line number is the item's position from 1) or one object; a JSON
    body that does not parse as a whole is read as JSON lines, so each bad line is reported.
    """
    if content_type in JSON_TYPES:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        else:
            if isinstance(data, list):
                lines = [json.dumps(item, ensure_ascii=False) for item in data]
                return ("\n".join(lines) + "\n").encode("utf-8") if lines else b"", len(lines)
            if isinstance(data, dict):
                return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n", 1
            raise ConfigError("expected JSON lines, an array of JSON objects or one JSON object")
    return body, sum(1 for line in body.split(b"\n") if line.strip())


def _audit_push(ctx: Ctx, source: str, report: PushReport) -> None:
    details: dict[str, object] = {
        "source": source,
        "received": report.received,
        "new": report.new,
        "duplicate": report.duplicate,
        "already_stored": report.already_stored,
        "unmatched": report.unmatched,
        "rejected": len(report.rejected),
    }
    audit(ctx, "mentions.push", "source", f"push:{source}", details)


@router.post(
    "/push",
    response_model=PushReport,
    tags=["push"],
    responses={
        400: {"model": ErrorOut, "description": "Not JSON lines, a JSON array or an object."},
        401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
        403: {"model": ErrorOut, "description": "A read-only token, or a role below manager."},
        413: {"model": ErrorOut, "description": "Over 5 MiB or over 10,000 items."},
        415: {"model": ErrorOut, "description": "Another content type."},
    },
)
async def push(
    request: Request,
    ctx: Manager,
    source: Annotated[
        str,
        Query(
            max_length=100,
            description="The source name of items that name no source (kind: push).",
        ),
    ] = "push",
) -> Response | PushReport:
    """Store mentions sent by another tool, in the import format (docs/import.md): JSON lines
    (``application/x-ndjson`` or ``application/jsonl``), a JSON array of objects or one JSON
    object (``application/json``). Needs a token with the write scope (or a session) of a
    manager or above.

    Items go through the same import as ``flocon import``: normalised, deduplicated,
    matched against the watches, analysed, counted in the rollups. A bad item is rejected
    with its line number and the others are kept. Idempotent: an item pushed again (same
    source and id, or the same content without an id) is not stored twice.
    At most 5 MiB and 10,000 items per call."""
    token = ctx.viewer.token
    if token is not None and "write" not in token.scopes:
        raise accounts.PermissionDenied("pushing needs a token with the write scope")
    name = _source_name(source)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSONL_TYPES and content_type not in JSON_TYPES:
        return _error(
            415,
            "send application/x-ndjson (JSON lines) or application/json (an array of "
            f"objects or one object), not {content_type!r}",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PUSH_BYTES:
        return _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PUSH_BYTES:
            return _too_large()
        chunks.append(chunk)
    body, items = as_json_lines(b"".join(chunks), content_type)
    if items > MAX_PUSH_ITEMS:
        return _error(413, f"at most {MAX_PUSH_ITEMS} items per call (got {items}): split them")
    result = await run_in_threadpool(
        importing.import_stream,
        ctx.engine,
        ctx.workspace,
        io.BytesIO(body),
        fmt="jsonl",
        default_source=("push", name),
        settings=ctx.settings,
    )
    counts = result.counts
    report = PushReport(
        received=result.lines,
        new=counts.new,
        duplicate=counts.duplicate,
        already_stored=counts.already_stored,
        unmatched=counts.unmatched,
        rejected=[RejectedOut(line=line, error=reason) for line, reason in result.rejected],
    )
    await run_in_threadpool(_audit_push, ctx, name, report)
    return report
