"""REST API v1: mentions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspaces/{ws}", tags=["mentions"])
