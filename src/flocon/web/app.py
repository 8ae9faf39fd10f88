"""The app factory: one FastAPI application for pages and API, built from explicit settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from flocon import __version__
from flocon.errors import AlreadyExists, FloconError, NotFound, QuerySyntaxError
from flocon.services import accounts, cases
from flocon.settings import Settings
from flocon.storage.engine import build_engine
from flocon.web import api, ui
from flocon.web.deps import LoginRequired
from flocon.web.i18n import _
from flocon.web.render import page
from flocon.web.security import CsrfFailed, WebMiddleware

logger = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, **extra: object) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, **extra}, status_code=status)
    titles = {
        400: _("This request cannot be done"),
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("Already exists"),
        429: _("Too many attempts"),
    }
    return page(
        request,
        "errors/error.html",
        status_code=status,
        title=titles.get(status, _("Something went wrong")),
        message=message,
    )


def create_app(
    settings: Settings, *, engine: Engine | None = None, pipeline: bool = False
) -> FastAPI:
    """The web app over ``settings``' database (or ``engine`` when given).

    ``pipeline``: also fetch sources, follow streams and run the detectors and alert
    deliveries in this process while it serves (``flocon run``, the embedded default).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not pipeline:
            yield
            return
        from flocon.services.pipeline import run_pipeline

        stop = asyncio.Event()
        task = asyncio.create_task(run_pipeline(app.state.engine, settings, stop))
        app.state.pipeline_stop = stop
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, timeout=30)
            except TimeoutError:
                logger.warning("the pipeline did not stop within 30 s; cancelled")
                task.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="flocon",
        version=__version__,
        description="Self-hosted social listening: mentions, watches, sources, alerts.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine if engine is not None else build_engine(settings)
    app.add_middleware(WebMiddleware, settings=settings)
    app.mount("/static", StaticFiles(packages=[("flocon.web", "static")]), name="static")
    for router in ui.ROUTERS:
        app.include_router(router)
    app.include_router(api.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"error": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(accounts.PermissionDenied)
    async def _denied(request: Request, exc: accounts.PermissionDenied) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error(
            request,
            403,
            _("This form has expired or did not come from flocon: reload the page and try again."),
        )

    @app.exception_handler(accounts.LoginThrottled)
    async def _throttled(request: Request, exc: accounts.LoginThrottled) -> Response:
        response = _error(request, 429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(cases.CaseExists)
    async def _case_exists(request: Request, exc: cases.CaseExists) -> Response:
        return _error(request, 409, str(exc), case_id=exc.case_id)

    @app.exception_handler(cases.CaseConflict)
    async def _case_conflict(request: Request, exc: cases.CaseConflict) -> Response:
        return _error(request, 409, str(exc), current_version=exc.current_version)

    @app.exception_handler(AlreadyExists)
    async def _exists(request: Request, exc: AlreadyExists) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(QuerySyntaxError)
    async def _query(request: Request, exc: QuerySyntaxError) -> Response:
        return _error(request, 400, str(exc), position=getattr(exc, "position", None))

    @app.exception_handler(FloconError)
    async def _flocon(request: Request, exc: FloconError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"error": "invalid request", "detail": jsonable(exc.errors())}, status_code=422
            )
        return _error(request, 400, _("Some fields are missing or invalid."))

    return app


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` (``flocon web --workers N``): settings from the
    environment, no pipeline (workers and beat do that part at scale)."""
    return create_app(Settings())


def jsonable(errors: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str})
