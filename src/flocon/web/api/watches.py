"""REST API v1: watches — list, create, read, change, delete, backfill, and the query tools
the editor uses (check a query, preview what it matches)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flocon.services import watches as svc
from flocon.web.api.schemas_watches import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BackfillPublic,
    Deleted,
    PreviewIn,
    PreviewOut,
    QueryCheckIn,
    QueryCheckOut,
    WatchCreate,
    WatchList,
    WatchPublic,
    WatchUpdate,
    check_query,
    paginate,
    preview_out,
    watch_public,
)
from flocon.web.deps import Ctx, as_manager, as_viewer, audit

router = APIRouter(prefix="/workspaces/{ws}", tags=["watches"])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Manager = Annotated[Ctx, Depends(as_manager)]


@router.get("/watches", response_model=WatchList)
def list_watches(
    ctx: Viewer,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> WatchList:
    """The watches of the workspace, by name, with their number of mentions."""
    items = svc.list_watches(ctx.engine, ctx.workspace)
    page, next_cursor = paginate(items, lambda item: item[0].name, limit=limit, cursor=cursor)
    return WatchList(items=[watch_public(w, n) for w, n in page], next_cursor=next_cursor)


@router.post("/watches", response_model=WatchPublic, status_code=201)
def create_watch(ctx: Manager, body: WatchCreate) -> WatchPublic:
    """Create a watch (manager). An invalid query answers 400 with ``error`` and
    ``position``; a name already used, 409. With ``backfill``, the stored mentions are
    matched against it before answering."""
    watch = svc.add_watch(
        ctx.engine,
        ctx.workspace,
        name=body.name,
        query=body.query,
        kind=body.kind,
        group=body.group,
        langs=svc.parse_langs(",".join(body.langs)),
    )
    audit(
        ctx,
        "watch.create",
        object_type="watch",
        object_id=watch.name,
        details={"query": watch.query},
    )
    result = svc.backfill_watch(ctx.engine, ctx.workspace, watch.name) if body.backfill else None
    if result is not None:
        audit(
            ctx,
            "watch.backfill",
            object_type="watch",
            object_id=watch.name,
            details={"linked": result.linked, "unlinked": result.unlinked},
        )
    return watch_public(*svc.get_watch(ctx.engine, ctx.workspace, watch.name), result)


@router.post("/watches/validate", response_model=QueryCheckOut)
def validate_query(ctx: Viewer, body: QueryCheckIn) -> QueryCheckOut:
    """Check a query without saving anything: ``ok`` and its normalised form, or the error
    with its ``position`` (0-based character offset) and ``reason``."""
    return check_query(body.query)


@router.post("/watches/preview", response_model=PreviewOut)
def preview_query(ctx: Viewer, body: PreviewIn) -> PreviewOut:
    """The stored mentions a query would match over the last 30 days of data (the newest
    ``limit``), and its estimated daily volume; nothing is saved. An invalid query answers
    400 with ``error`` and ``position``."""
    preview = svc.preview_query(
        ctx.engine,
        ctx.workspace,
        body.query,
        langs=svc.parse_langs(",".join(body.langs)),
        limit=body.limit,
    )
    return preview_out(preview)


@router.get("/watches/{name:path}", response_model=WatchPublic)
def get_watch(ctx: Viewer, name: str) -> WatchPublic:
    """One watch."""
    return watch_public(*svc.get_watch(ctx.engine, ctx.workspace, name))


@router.patch("/watches/{name:path}", response_model=WatchPublic)
def edit_watch(ctx: Manager, name: str, body: WatchUpdate) -> WatchPublic:
    """Change a watch (manager); fields left out stay. Past mentions follow a new query
    after a backfill (``backfill: true``)."""
    watch = svc.edit_watch(
        ctx.engine,
        ctx.workspace,
        name,
        new_name=body.name,
        query=body.query,
        kind=body.kind,
        group=body.group,
        langs=svc.parse_langs(",".join(body.langs)) if body.langs is not None else None,
    )
    changed = sorted(body.model_dump(exclude_unset=True, exclude={"backfill"}))
    audit(
        ctx,
        "watch.edit",
        object_type="watch",
        object_id=watch.name,
        details={"fields": changed, "previous_name": name},
    )
    result = svc.backfill_watch(ctx.engine, ctx.workspace, watch.name) if body.backfill else None
    if result is not None:
        audit(
            ctx,
            "watch.backfill",
            object_type="watch",
            object_id=watch.name,
            details={"linked": result.linked, "unlinked": result.unlinked},
        )
    return watch_public(*svc.get_watch(ctx.engine, ctx.workspace, watch.name), result)


@router.post("/watches/{name:path}/backfill", response_model=BackfillPublic)
def backfill_watch(ctx: Manager, name: str) -> BackfillPublic:
    """Match every stored mention against the watch (manager): links those it matches,
    unlinks those it no longer matches."""
    result = svc.backfill_watch(ctx.engine, ctx.workspace, name)
    audit(
        ctx,
        "watch.backfill",
        object_type="watch",
        object_id=name,
        details={"linked": result.linked, "unlinked": result.unlinked},
    )
    return BackfillPublic(
        scanned=result.scanned, linked=result.linked, unlinked=result.unlinked, total=result.total
    )


@router.delete("/watches/{name:path}", response_model=Deleted)
def delete_watch(ctx: Manager, name: str) -> Deleted:
    """Delete a watch (manager). Its mentions stay stored (other watches may use them)."""
    svc.remove_watch(ctx.engine, ctx.workspace, name)
    audit(ctx, "watch.delete", object_type="watch", object_id=name)
    return Deleted(deleted=name)
