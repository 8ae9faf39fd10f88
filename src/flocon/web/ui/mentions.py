"""Pages: mentions."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from flocon.web.security import csrf_protect

router = APIRouter(prefix="/w/{ws}", dependencies=[Depends(csrf_protect)])
