"""Pages: sources — health at a glance (state, last success, last error, freshness, items in
24 h, and a 7-day strip of hourly activity that shows the gaps), add and edit per kind,
pause and resume, delete (with confirmation), and "test now".

Reading needs the viewer role; every change, and the test fetch, needs manager. Credential
fields are write-only: their values are never rendered back; a blank field keeps the stored
value, and the pages only say which keys are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from babel.dates import format_timedelta
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from flocon.connectors.registry import all_connectors
from flocon.credentials import CredentialBox
from flocon.domain.models import Source
from flocon.errors import FloconError
from flocon.services import sources as svc
from flocon.web import i18n
from flocon.web.api.schemas_sources import N_, KindForm, health_of, kind_form
from flocon.web.api.sources import check_name, find_source, health, run_test, stored_keys
from flocon.web.deps import Ctx, as_manager, as_viewer, audit
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Manager = Annotated[Ctx, Depends(as_manager)]

#: Longest text accepted in one form field (targets, option lines).
MAX_FIELD = 4000

# States and strip cells, shown translated in the templates.
N_("ok")
N_("failing")
N_("down")
N_("paused")
N_("new")
N_("manual")


async def form_data(request: Request) -> FormData:
    """The posted form (fields vary with the source kind), read once per request."""
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def ago(value: datetime | None) -> str:
    """``12 minutes ago`` in the reader's language; empty for None."""
    if value is None:
        return ""
    delta = value - datetime.now(UTC)
    if abs(delta) < timedelta(seconds=45):
        return _("just now")
    return format_timedelta(delta, add_direction=True, threshold=1.1, locale=i18n.current().locale)


def every_text(seconds: int | None) -> str:
    """600 → ``10m`` (the form's own notation)."""
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _stale(source: Source, now: datetime) -> bool:
    """No success for more than twice the interval (and a few minutes)."""
    if source.paused or source.every_s is None or source.last_success_at is None:
        return False
    return now - source.last_success_at > timedelta(seconds=2 * source.every_s + 300)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > MAX_FIELD:
        raise FloconError(_("A field is too long."))
    return value


def _lines(text: str, *, what: str) -> dict[str, str]:
    """``key=value`` lines (blank lines skipped) into a mapping."""
    pairs = [line.strip() for line in text.splitlines() if line.strip()]
    return svc.parse_pairs(pairs, what=what)


def _form_of(kind: str) -> KindForm:
    """The form of a stored source's kind (a plugin that is gone gets a bare one)."""
    return kind_form(kind, getattr(all_connectors().get(kind), "summary", ""))


def _options_text(options: dict[str, str], form: KindForm) -> str:
    """Stored options the kind's form has no field for, as ``key=value`` lines."""
    known = {f.key for f in form.options}
    return "\n".join(f"{k}={v}" for k, v in sorted(options.items()) if k not in known)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a source form sent: the options and credentials to store."""

    name: str
    target: str
    every: str
    options: dict[str, str]
    credentials: dict[str, str]


def _shown(form: FormData, kind_form_: KindForm) -> dict[str, str]:
    """The fields to show back when a form is refused: never the credentials."""

    def raw(name: str) -> str:
        value = form.get(name)
        return value[:MAX_FIELD] if isinstance(value, str) else ""

    values = {f"opt_{f.key}": raw(f"opt_{f.key}").strip() for f in kind_form_.options}
    values.update(
        name=raw("name").strip(),
        target=raw("target").strip(),
        every=raw("every").strip(),
        other_options=raw("other_options"),
    )
    return values


def _read_form(form: FormData, kind_form_: KindForm, *, stored: Source | None) -> Submitted:
    """The source form: known option fields, other options as lines, and credentials
    (a blank field keeps the stored value; a ticked "remove" deletes it)."""
    options: dict[str, str] = {}
    for f in kind_form_.options:
        value = _field(form, f"opt_{f.key}").strip()
        if value or stored is not None:
            options[f.key] = value  # "" removes a stored option
    extra = _lines(_field(form, "other_options"), what="option")
    options.update(extra)
    if stored is not None:
        known = {f.key for f in kind_form_.options}
        for key in stored.options:
            if key not in known and key not in extra:
                options[key] = ""  # a line removed from "other options"
    credentials: dict[str, str] = {}
    for f in kind_form_.credentials:
        value = _field(form, f"cred_{f.key}")
        if value.strip():
            credentials[f.key] = value.strip()
    credentials.update(_lines(_field(form, "other_credentials"), what="credential"))
    for removed in form.getlist("cred_remove"):
        if isinstance(removed, str) and removed and removed not in credentials:
            credentials[removed] = ""
    name = _field(form, "name").strip()
    target = _field(form, "target").strip()
    every = _field(form, "every").strip() or "15m"
    return Submitted(name, target, every, options, credentials)


def _form_page(
    request: Request,
    ctx: Ctx,
    template: str,
    *,
    form: KindForm,
    values: dict[str, str],
    source: Source | None = None,
    keys: list[str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return page(
        request,
        template,
        ctx=ctx,
        status_code=status_code,
        form=form,
        values=values,
        source=source,
        keys=keys,
        error=error,
        can_write=ctx.can("manager"),
        ago=ago,
        **extra,
    )


def _redirect(ctx: Ctx, path: str = "", **params: str | int) -> RedirectResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    target = f"/w/{ctx.workspace}/sources{path}" + (f"?{query}" if query else "")
    return RedirectResponse(target, status_code=303)


# --------------------------------------------------------------------------- list


@router.get("/sources", response_class=HTMLResponse, include_in_schema=False)
def list_page(
    request: Request, ctx: Viewer, all_: Annotated[str, Query(alias="all")] = ""
) -> HTMLResponse:
    include_manual = all_ == "1"
    items = svc.list_sources(
        ctx.engine,
        ctx.workspace,
        include_manual=include_manual,
        down_after_s=ctx.settings.source_down_after_s,
    )
    activity = svc.source_activity(ctx.engine, ctx.workspace, [h.source for h in items])
    now = datetime.now(UTC)
    rows = [
        {
            "h": h,
            "s": h.source,
            "health": health_of(h.source, down=h.down, now=now),
            "activity": activity[h.source.id],
            "stale": _stale(h.source, now),
        }
        for h in items
    ]
    done = request.query_params.get("done")
    return page(
        request,
        "sources/list.html",
        ctx=ctx,
        rows=rows,
        include_manual=include_manual,
        done=done,
        done_id=request.query_params.get("id", ""),
        can_write=ctx.can("manager"),
        ago=ago,
        every_text=every_text,
    )


# --------------------------------------------------------------------------- add


@router.get("/sources/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, ctx: Manager, kind: str = "") -> HTMLResponse:
    connectors = all_connectors()
    if kind not in connectors:
        kinds = [kind_form(k, c.summary) for k, c in sorted(connectors.items())]
        return page(request, "sources/kinds.html", ctx=ctx, kinds=kinds)
    form = kind_form(kind, connectors[kind].summary)
    return _form_page(
        request,
        ctx,
        "sources/new.html",
        form=form,
        values={"every": "15m", "kind": kind},
    )


@router.post("/sources/new", include_in_schema=False)
def create(request: Request, ctx: Manager, form: Form) -> Response:
    kind = _field(form, "kind").strip().lower()
    connectors = all_connectors()
    if kind not in connectors:
        raise FloconError(_("Unknown kind of source: %(kind)s", kind=kind))
    kform = kind_form(kind, connectors[kind].summary)
    values = _shown(form, kform) | {"kind": kind}
    try:
        sent = _read_form(form, kform, stored=None)
        check_name(sent.name or None)
        source = svc.add_source(
            ctx.engine,
            CredentialBox(ctx.settings),
            ctx.workspace,
            kind=kind,
            target=sent.target,
            name=sent.name or None,
            every_s=svc.parse_every(sent.every),
            options=sent.options,
            credentials=sent.credentials,
        )
    except FloconError as exc:
        return _form_page(
            request,
            ctx,
            "sources/new.html",
            form=kform,
            values=values,
            error=str(exc),
            status_code=400,
        )
    audit(
        ctx,
        "source.create",
        object_type="source",
        object_id=source.id,
        details={
            "kind": source.kind,
            "target": source.target,
            "credential_keys": sorted(sent.credentials),
        },
    )
    return _redirect(ctx, f"/{source.id}", done="created")


# --------------------------------------------------------------------------- one source


def _detail(
    request: Request,
    ctx: Ctx,
    source_id: int,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    h = health(ctx, source_id)
    s = h.source
    form = _form_of(s.kind)
    if values is None:
        values = {f"opt_{f.key}": s.options.get(f.key, "") for f in form.options}
        values.update(
            name=s.name,
            target=s.target,
            every=every_text(s.every_s),
            other_options=_options_text(s.options, form),
        )
    activity = svc.source_activity(ctx.engine, ctx.workspace, [s])[s.id]
    return _form_page(
        request,
        ctx,
        "sources/detail.html",
        form=form,
        values=values,
        source=s,
        keys=stored_keys(ctx, s),
        error=error,
        status_code=status_code,
        h=h,
        health=health_of(s, down=h.down),
        activity=activity,
        stale=_stale(s, datetime.now(UTC)),
        every_text=every_text,
        done=request.query_params.get("done"),
    )


@router.get("/sources/{source_id}", response_class=HTMLResponse, include_in_schema=False)
def detail_page(request: Request, ctx: Viewer, source_id: int) -> HTMLResponse:
    return _detail(request, ctx, source_id)


@router.post("/sources/{source_id}", include_in_schema=False)
def save(request: Request, ctx: Manager, source_id: int, form: Form) -> Response:
    current = find_source(ctx, source_id)
    kform = _form_of(current.kind)
    try:
        sent = _read_form(form, kform, stored=current)
        check_name(sent.name or None)
        every_s = svc.parse_every(sent.every) if current.every_s is not None else None
        svc.edit_source(
            ctx.engine,
            CredentialBox(ctx.settings),
            ctx.workspace,
            str(source_id),
            name=sent.name if sent.name and sent.name != current.name else None,
            target=sent.target if sent.target and sent.target != current.target else None,
            every_s=every_s if every_s != current.every_s else None,
            options=sent.options,
            credentials=sent.credentials,
        )
    except FloconError as exc:
        return _detail(
            request,
            ctx,
            source_id,
            values=_shown(form, kform),
            error=str(exc),
            status_code=400,
        )
    audit(
        ctx,
        "source.edit",
        object_type="source",
        object_id=source_id,
        details={
            "options": sorted(
                k for k, v in sent.options.items() if current.options.get(k, "") != v
            ),
            "credential_keys": sorted(sent.credentials),
            "target_changed": bool(sent.target and sent.target != current.target),
        },
    )
    return _redirect(ctx, f"/{source_id}", done="saved")


@router.post("/sources/{source_id}/pause", include_in_schema=False)
def pause(request: Request, ctx: Manager, source_id: int, form: Form) -> Response:
    return _set_paused(ctx, source_id, form, paused=True)


@router.post("/sources/{source_id}/resume", include_in_schema=False)
def resume(request: Request, ctx: Manager, source_id: int, form: Form) -> Response:
    return _set_paused(ctx, source_id, form, paused=False)


def _set_paused(ctx: Ctx, source_id: int, form: FormData, *, paused: bool) -> Response:
    find_source(ctx, source_id)
    svc.set_paused(ctx.engine, ctx.workspace, str(source_id), paused=paused)
    action = "source.pause" if paused else "source.resume"
    audit(ctx, action, object_type="source", object_id=source_id)
    done = "paused" if paused else "resumed"
    if _field(form, "back") == "list":
        return _redirect(ctx, done=done, id=source_id)
    return _redirect(ctx, f"/{source_id}", done=done)


@router.get("/sources/{source_id}/delete", response_class=HTMLResponse, include_in_schema=False)
def delete_page(request: Request, ctx: Manager, source_id: int) -> HTMLResponse:
    h = health(ctx, source_id)
    return page(request, "sources/delete.html", ctx=ctx, source=h.source)


@router.post("/sources/{source_id}/delete", include_in_schema=False)
def delete(request: Request, ctx: Manager, source_id: int) -> Response:
    source = find_source(ctx, source_id)
    svc.remove_source(ctx.engine, ctx.workspace, str(source_id))
    audit(
        ctx,
        "source.delete",
        object_type="source",
        object_id=source_id,
        details={"kind": source.kind, "name": source.name},
    )
    return _redirect(ctx, done="deleted", id=source_id)


@router.post("/sources/{source_id}/test", response_class=HTMLResponse, include_in_schema=False)
async def test_now(request: Request, ctx: Manager, source_id: int) -> HTMLResponse:
    source = await run_in_threadpool(find_source, ctx, source_id)
    error: str | None = None
    result = None
    try:
        result = await run_in_threadpool(run_test, ctx, source_id)
    except FloconError as exc:
        error = str(exc)
    htmx = request.headers.get("hx-request") == "true"
    return page(
        request,
        "sources/_test.html" if htmx else "sources/test.html",
        ctx=ctx,
        source=source,
        result=result,
        error=error,
    )
