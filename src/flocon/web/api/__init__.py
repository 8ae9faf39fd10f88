"""The REST API, version 1 (``/api/v1``): JSON over the same services as the pages, with
OpenAPI at ``/api/v1/openapi.json``. Authenticated by a workspace API token
(``Authorization: Bearer flc_...``) or by a page session (then unsafe calls need the
``X-CSRF-Token`` header). Lists are paginated with an opaque ``cursor``."""

from fastapi import APIRouter, Depends

from flocon.web.api import (
    alerts,
    authors,
    cases,
    dashboard,
    inbox,
    inbox_rules,
    mentions,
    sources,
    watches,
    workspace,
)
from flocon.web.security import csrf_protect

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
for _module in (
    workspace,
    dashboard,
    mentions,
    watches,
    sources,
    alerts,
    authors,
    cases,
    inbox,
    inbox_rules,
):
    router.include_router(_module.router)
