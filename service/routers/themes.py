"""Placeholder router: filled in by the work in progress on issue 5."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
