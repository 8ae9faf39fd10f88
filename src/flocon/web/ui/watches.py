"""Pages: watches — the list, the editor with live query validation and a preview of the
stored mentions a query matches, delete (with confirmation) and backfill.

Reading needs the viewer role; creating, editing, deleting and backfilling need manager.
The editor's live parts are htmx fragments: ``/watches/validate`` answers the query check
(the error at its position, with a caret under it), ``/watches/preview`` the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flocon.domain.models import Watch, WatchKind
from flocon.errors import AlreadyExists, FloconError, QuerySyntaxError
from flocon.services import watches as svc
from flocon.web.api.schemas_watches import MAX_QUERY, QueryCheckOut, check_query
from flocon.web.deps import Ctx, as_manager, as_viewer, audit
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])

Viewer = Annotated[Ctx, Depends(as_viewer)]
Manager = Annotated[Ctx, Depends(as_manager)]


def N_(message: str) -> str:
    """Mark a message for translation; it is translated where it is shown."""
    return message


# The kinds of watch, shown translated in the templates.
N_("brand")
N_("competitor")
N_("product")
N_("campaign")
N_("person")


@dataclass(frozen=True, slots=True)
class Caret:
    """Where a query error is: the line that holds it and a pointer under its column."""

    line: str
    pointer: str
    line_no: int
    column: int


def caret(query: str, position: int) -> Caret:
    """The line of ``query`` holding ``position`` (0-based offset) and a ``^`` under it."""
    position = max(0, min(position, len(query)))
    start = query.rfind("\n", 0, position) + 1
    end = query.find("\n", position)
    line = query[start : len(query) if end == -1 else end]
    column = position - start
    pad = "".join("\t" if ch == "\t" else " " for ch in line[:column])
    return Caret(line, pad + "^", query.count("\n", 0, position) + 1, column + 1)


def watch_url(ws: str, name: str, action: str = "edit") -> str:
    return f"/w/{quote(ws, safe='')}/watches/{quote(name, safe='')}/{action}"


def _values(watch: Watch | None = None, **form: str) -> dict[str, str]:
    """The editor's fields: a stored watch's, or what the form sent back."""
    if watch is not None:
        form = {
            "name": watch.name,
            "query": watch.query,
            "kind": watch.kind.value,
            "group": watch.group or "",
            "langs": ", ".join(watch.langs),
        }
    values = {key: form.get(key, "") for key in ("name", "query", "group", "langs")}
    values["kind"] = form.get("kind") or WatchKind.BRAND.value
    return values


def _check(query: str) -> tuple[QueryCheckOut, Caret | None]:
    check = check_query(query)
    pointer = caret(query, check.position) if check.position is not None else None
    return check, pointer


def _editor(
    request: Request,
    ctx: Ctx,
    *,
    values: dict[str, str],
    original: str | None,
    count: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    check, pointer = _check(values["query"]) if values["query"] else (None, None)
    groups = sorted({w.group for w, _n in svc.list_watches(ctx.engine, ctx.workspace) if w.group})
    return page(
        request,
        "watches/editor.html",
        ctx=ctx,
        status_code=status_code,
        values=values,
        original=original,
        count=count,
        error=error,
        check=check,
        caret=pointer,
        groups=groups,
        kinds=list(WatchKind),
        can_write=ctx.can("manager"),
        max_query=MAX_QUERY,
        watch_url=watch_url,
    )


def _kind(value: str) -> WatchKind:
    try:
        return WatchKind(value)
    except ValueError:
        raise FloconError(_("Unknown kind of watch: %(kind)s", kind=value)) from None


def _backfill(ctx: Ctx, name: str) -> str:
    result = svc.backfill_watch(ctx.engine, ctx.workspace, name)
    audit(
        ctx,
        "watch.backfill",
        object_type="watch",
        object_id=name,
        details={"linked": result.linked, "unlinked": result.unlinked},
    )
    return f"&linked={result.linked}&unlinked={result.unlinked}&total={result.total}"


# --------------------------------------------------------------------------- list


@router.get("/watches", response_class=HTMLResponse, include_in_schema=False)
def list_page(request: Request, ctx: Viewer) -> HTMLResponse:
    items = svc.list_watches(ctx.engine, ctx.workspace)
    notice = _notice(dict(request.query_params))
    return page(
        request,
        "watches/list.html",
        ctx=ctx,
        items=items,
        notice=notice,
        can_write=ctx.can("manager"),
        watch_url=watch_url,
    )


def _notice(params: dict[str, str]) -> str | None:
    """The message after a write (the pages redirect to the list with what happened)."""
    name = params.get("name", "")
    done = params.get("done")
    text: str | None = None
    if done == "created":
        text = _("Watch %(name)s created.", name=name)
    elif done == "saved":
        text = _("Watch %(name)s saved.", name=name)
    elif done == "deleted":
        text = _("Watch %(name)s deleted. Its mentions stay stored.", name=name)
    if text and "total" in params:
        text += " " + _(
            "Backfill: linked %(linked)s, unlinked %(unlinked)s; mentions in all: %(total)s.",
            linked=params.get("linked", "0"),
            unlinked=params.get("unlinked", "0"),
            total=params.get("total", "0"),
        )
    elif done == "backfilled":
        text = _(
            "Backfill of %(name)s: linked %(linked)s, unlinked %(unlinked)s; "
            "mentions in all: %(total)s.",
            name=name,
            linked=params.get("linked", "0"),
            unlinked=params.get("unlinked", "0"),
            total=params.get("total", "0"),
        )
    return text


# --------------------------------------------------------------------------- live parts


@router.post("/watches/validate", response_class=HTMLResponse, include_in_schema=False)
def validate_fragment(
    request: Request, ctx: Viewer, query: Annotated[str, Form(max_length=MAX_QUERY)] = ""
) -> HTMLResponse:
    check, pointer = _check(query) if query.strip() else (None, None)
    return page(request, "watches/_check.html", ctx=ctx, check=check, caret=pointer)


@router.post("/watches/preview", response_class=HTMLResponse, include_in_schema=False)
def preview_fragment(
    request: Request,
    ctx: Viewer,
    query: Annotated[str, Form(max_length=MAX_QUERY)] = "",
    langs: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    preview: svc.QueryPreview | None = None
    message: str | None = None
    if not query.strip():
        message = _("Type a query to see the stored mentions it matches.")
    else:
        try:
            preview = svc.preview_query(
                ctx.engine, ctx.workspace, query, langs=svc.parse_langs(langs)
            )
        except QuerySyntaxError:
            message = _("Correct the query to see what it matches.")
        except FloconError as exc:
            message = str(exc)
    return page(request, "watches/_preview.html", ctx=ctx, preview=preview, message=message)


# --------------------------------------------------------------------------- create


@router.get("/watches/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, ctx: Manager) -> HTMLResponse:
    return _editor(request, ctx, values=_values(), original=None)


@router.post("/watches/new", include_in_schema=False)
def create(
    request: Request,
    ctx: Manager,
    name: Annotated[str, Form(max_length=200)] = "",
    query: Annotated[str, Form(max_length=MAX_QUERY)] = "",
    kind: Annotated[str, Form(max_length=20)] = WatchKind.BRAND.value,
    group: Annotated[str, Form(max_length=200)] = "",
    langs: Annotated[str, Form(max_length=200)] = "",
    backfill: Annotated[bool, Form()] = False,
) -> Response:
    values = _values(name=name, query=query, kind=kind, group=group, langs=langs)
    try:
        if not query.strip():
            raise FloconError(_("Write the query of the watch."))
        watch = svc.add_watch(
            ctx.engine,
            ctx.workspace,
            name=name,
            query=query,
            kind=_kind(kind),
            group=group,
            langs=svc.parse_langs(langs),
        )
    except (QuerySyntaxError, AlreadyExists, FloconError) as exc:
        return _editor(
            request, ctx, values=values, original=None, error=_error(exc), status_code=400
        )
    audit(ctx, "watch.create", object_type="watch", object_id=watch.name, details={"query": query})
    extra = _backfill(ctx, watch.name) if backfill else ""
    return _to_list(ctx, "created", watch.name, extra)


def _error(exc: FloconError) -> str:
    if isinstance(exc, QuerySyntaxError):
        return _("The query has an error: see below.")
    return str(exc)


def _to_list(ctx: Ctx, done: str, name: str, extra: str = "") -> RedirectResponse:
    target = f"/w/{quote(ctx.workspace, safe='')}/watches?done={done}&name={quote(name, safe='')}"
    return RedirectResponse(target + extra, status_code=303)


# --------------------------------------------------------------------------- one watch


@router.get("/watches/{name:path}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_page(request: Request, ctx: Viewer, name: str) -> HTMLResponse:
    watch, count = svc.get_watch(ctx.engine, ctx.workspace, name)
    return _editor(request, ctx, values=_values(watch), original=watch.name, count=count)


@router.post("/watches/{name:path}/edit", include_in_schema=False)
def save(
    request: Request,
    ctx: Manager,
    name: str,
    new_name: Annotated[str, Form(alias="name", max_length=200)] = "",
    query: Annotated[str, Form(max_length=MAX_QUERY)] = "",
    kind: Annotated[str, Form(max_length=20)] = WatchKind.BRAND.value,
    group: Annotated[str, Form(max_length=200)] = "",
    langs: Annotated[str, Form(max_length=200)] = "",
    backfill: Annotated[bool, Form()] = False,
) -> Response:
    current, count = svc.get_watch(ctx.engine, ctx.workspace, name)
    values = _values(name=new_name, query=query, kind=kind, group=group, langs=langs)
    try:
        if not query.strip():
            raise FloconError(_("Write the query of the watch."))
        watch = svc.edit_watch(
            ctx.engine,
            ctx.workspace,
            current.name,
            new_name=new_name if new_name.strip() and new_name != current.name else None,
            query=query,
            kind=_kind(kind),
            group=group,
            langs=svc.parse_langs(langs),
        )
    except (QuerySyntaxError, AlreadyExists, FloconError) as exc:
        return _editor(
            request,
            ctx,
            values=values,
            original=current.name,
            count=count,
            error=_error(exc),
            status_code=400,
        )
    changed = _changed(current, watch)
    audit(
        ctx,
        "watch.edit",
        object_type="watch",
        object_id=watch.name,
        details={"fields": changed, "previous_name": current.name},
    )
    extra = _backfill(ctx, watch.name) if backfill else ""
    return _to_list(ctx, "saved", watch.name, extra)


def _changed(before: Watch, after: Watch) -> list[str]:
    fields: dict[str, tuple[Any, Any]] = {
        "name": (before.name, after.name),
        "query": (before.query, after.query),
        "kind": (before.kind, after.kind),
        "group": (before.group, after.group),
        "langs": (before.langs, after.langs),
    }
    return [key for key, (a, b) in fields.items() if a != b]


@router.post("/watches/{name:path}/backfill", include_in_schema=False)
def backfill(request: Request, ctx: Manager, name: str) -> Response:
    watch, _count = svc.get_watch(ctx.engine, ctx.workspace, name)
    extra = _backfill(ctx, watch.name)
    return _to_list(ctx, "backfilled", watch.name, extra)


@router.get("/watches/{name:path}/delete", response_class=HTMLResponse, include_in_schema=False)
def delete_page(request: Request, ctx: Manager, name: str) -> HTMLResponse:
    watch, count = svc.get_watch(ctx.engine, ctx.workspace, name)
    return page(
        request, "watches/delete.html", ctx=ctx, watch=watch, count=count, watch_url=watch_url
    )


@router.post("/watches/{name:path}/delete", include_in_schema=False)
def delete(request: Request, ctx: Manager, name: str) -> Response:
    watch, _count = svc.get_watch(ctx.engine, ctx.workspace, name)
    svc.remove_watch(ctx.engine, ctx.workspace, watch.name)
    audit(ctx, "watch.delete", object_type="watch", object_id=watch.name)
    return _to_list(ctx, "deleted", watch.name)
