"""REST API v1: sources — health, add, change, pause, resume, delete, hourly activity, and
a test fetch. Credentials are write-only: responses only name the keys that are set."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from flocon.connectors.base import FetchResult
from flocon.connectors.registry import all_connectors
from flocon.credentials import CredentialBox
from flocon.domain.models import Source
from flocon.errors import ConfigError, FloconError, NotFound
from flocon.services import sources as svc
from flocon.web.api.schemas_sources import (
    ActivityPublic,
    Deleted,
    KindPublic,
    SourceCreate,
    SourceList,
    SourcePublic,
    SourceTestResult,
    SourceUpdate,
    activity_public,
    health_public,
    kind_form,
    kind_public,
    source_public,
    source_test_result,
)
from flocon.web.api.schemas_watches import DEFAULT_LIMIT, MAX_LIMIT, paginate
from flocon.web.deps import Ctx, as_manager, as_viewer, audit

router = APIRouter(prefix="/workspaces/{ws}", tags=["sources"])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Manager = Annotated[Ctx, Depends(as_manager)]


# --------------------------------------------------------------------------- shared with pages


def find_source(ctx: Ctx, source_id: int) -> Source:
    """The source ``source_id`` of the request's workspace (404 for any other)."""
    source = svc.get_source(ctx.engine, ctx.workspace, str(source_id))
    if source.id != source_id:  # a source *named* like this id was found first
        raise NotFound(f"source #{source_id} does not exist in this workspace")
    return source


def health(ctx: Ctx, source_id: int) -> svc.SourceHealth:
    """The source with its health (down, items in 24 h)."""
    find_source(ctx, source_id)
    for h in svc.list_sources(
        ctx.engine,
        ctx.workspace,
        include_manual=True,
        down_after_s=ctx.settings.source_down_after_s,
    ):
        if h.source.id == source_id:
            return h
    raise NotFound(f"source #{source_id} does not exist in this workspace")


def stored_keys(ctx: Ctx, source: Source) -> list[str] | None:
    """Names of the stored credentials; None when they cannot be decrypted any more."""
    if not source.has_credentials:
        return []
    try:
        return svc.credential_keys(
            ctx.engine, CredentialBox(ctx.settings), ctx.workspace, str(source.id)
        )
    except ConfigError:
        return None


def check_name(name: str | None) -> None:
    """A name made of digits only would be taken for another source's id."""
    if name is not None and name.strip().isdigit():
        raise FloconError("a source name cannot be only digits (it would read as an id)")


def run_test(ctx: Ctx, source_id: int) -> FetchResult:
    """One bounded test fetch, on an event loop of its own (call it in a worker thread)."""
    return asyncio.run(svc.try_source(ctx.engine, ctx.settings, ctx.workspace, str(source_id)))


# --------------------------------------------------------------------------- routes


@router.get("/source-kinds", response_model=list[KindPublic])
def source_kinds(ctx: Viewer) -> list[KindPublic]:
    """The kinds of source this flocon can read (plugins included): what their target is,
    their options and the credential keys they take."""
    return [kind_public(kind_form(k, c.summary)) for k, c in sorted(all_connectors().items())]


@router.get("/sources", response_model=SourceList)
def list_sources(
    ctx: Viewer,
    all_: Annotated[bool, Query(alias="all", description="Also list file imports.")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> SourceList:
    """The sources of the workspace, by id, with their health: state, last success, last
    error, items collected in the last 24 hours."""
    items = svc.list_sources(
        ctx.engine,
        ctx.workspace,
        include_manual=all_,
        down_after_s=ctx.settings.source_down_after_s,
    )
    page, next_cursor = paginate(items, lambda h: h.source.id, limit=limit, cursor=cursor)
    return SourceList(items=[health_public(h) for h in page], next_cursor=next_cursor)


@router.post("/sources", response_model=SourcePublic, status_code=201)
def create_source(ctx: Manager, body: SourceCreate) -> SourcePublic:
    """Add a source (manager); it is fetched at the next cycle. An unknown kind or an
    invalid target or option answers 400."""
    check_name(body.name)
    source = svc.add_source(
        ctx.engine,
        CredentialBox(ctx.settings),
        ctx.workspace,
        kind=body.kind.strip().lower(),
        target=body.target,
        name=body.name or None,
        every_s=svc.parse_every(body.every),
        options=body.options,
        credentials={k: v for k, v in body.credentials.items() if v != ""},
    )
    audit(
        ctx,
        "source.create",
        object_type="source",
        object_id=source.id,
        details={
            "kind": source.kind,
            "target": source.target,
            "credential_keys": sorted(body.credentials),
        },
    )
    return source_public(source, credential_keys=stored_keys(ctx, source))


@router.get("/sources/{source_id}", response_model=SourcePublic)
def get_source(ctx: Viewer, source_id: int) -> SourcePublic:
    """One source with its health and the names of its stored credentials."""
    h = health(ctx, source_id)
    return source_public(
        h.source, down=h.down, items_24h=h.items_24h, credential_keys=stored_keys(ctx, h.source)
    )


@router.patch("/sources/{source_id}", response_model=SourcePublic)
def edit_source(ctx: Manager, source_id: int, body: SourceUpdate) -> SourcePublic:
    """Change a source (manager). Options and credentials are merged into the stored ones;
    a key given as ``""`` is removed. A new target resets the cursor."""
    current = find_source(ctx, source_id)
    check_name(body.name)
    source = svc.edit_source(
        ctx.engine,
        CredentialBox(ctx.settings),
        ctx.workspace,
        str(source_id),
        name=body.name,
        target=body.target if body.target != current.target else None,
        every_s=svc.parse_every(body.every) if body.every else None,
        options=body.options,
        credentials=body.credentials,
    )
    audit(
        ctx,
        "source.edit",
        object_type="source",
        object_id=source.id,
        details={
            "fields": sorted(body.model_dump(exclude_unset=True, exclude={"credentials"})),
            "credential_keys": sorted(body.credentials or {}),
        },
    )
    return source_public(source, credential_keys=stored_keys(ctx, source))


@router.delete("/sources/{source_id}", response_model=Deleted)
def delete_source(ctx: Manager, source_id: int) -> Deleted:
    """Delete a source (manager) and the mentions that came only from it."""
    source = find_source(ctx, source_id)
    svc.remove_source(ctx.engine, ctx.workspace, str(source_id))
    audit(
        ctx,
        "source.delete",
        object_type="source",
        object_id=source_id,
        details={"kind": source.kind, "name": source.name},
    )
    return Deleted(deleted=source_id)


@router.post("/sources/{source_id}/pause", response_model=SourcePublic)
def pause_source(ctx: Manager, source_id: int) -> SourcePublic:
    """Stop fetching a source (manager); its mentions stay."""
    find_source(ctx, source_id)
    source = svc.set_paused(ctx.engine, ctx.workspace, str(source_id), paused=True)
    audit(ctx, "source.pause", object_type="source", object_id=source_id)
    return source_public(source)


@router.post("/sources/{source_id}/resume", response_model=SourcePublic)
def resume_source(ctx: Manager, source_id: int) -> SourcePublic:
    """Fetch a paused source again at the next cycle (manager)."""
    find_source(ctx, source_id)
    source = svc.set_paused(ctx.engine, ctx.workspace, str(source_id), paused=False)
    audit(ctx, "source.resume", object_type="source", object_id=source_id)
    return source_public(source)


@router.get("/sources/{source_id}/activity", response_model=ActivityPublic)
def source_activity(ctx: Viewer, source_id: int) -> ActivityPublic:
    """Items collected per hour over the last 7 days and the hours the source was failing."""
    source = find_source(ctx, source_id)
    return activity_public(svc.source_activity(ctx.engine, ctx.workspace, [source])[source.id])


@router.post("/sources/{source_id}/test", response_model=SourceTestResult)
async def try_source_now(ctx: Manager, source_id: int) -> SourceTestResult:
    """Fetch the source once now (manager) and tell what would be stored; nothing is
    stored and its cursor stays. Requests go through the same guard as every fetch (no
    private addresses unless allowed, timeouts, size cap); the test stops after 60 s."""
    await run_in_threadpool(find_source, ctx, source_id)
    try:
        result = await run_in_threadpool(run_test, ctx, source_id)
    except FloconError as exc:
        return SourceTestResult(ok=False, error=str(exc))
    return source_test_result(result)
