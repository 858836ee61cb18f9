"""Response schemas for routes that answer GeoJSON or other JSON built by hand.

These routes return a ``Response``/``JSONResponse`` they build themselves (GeoJSON from
PostGIS, pandas records), so FastAPI cannot infer what they send. The models here are what the
OpenAPI schema declares for them: small and honest (the keys every answer carries), open to
the extra keys some answers add (``links``, ``method``, ``disclosure``), so that schemathesis can
hold each answer to its schema without a model rejecting a real answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

GEOJSON = "application/geo+json"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"


class Feature(BaseModel):
    """An RFC 7946 Feature; its properties are the route's own (see its description)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """An RFC 7946 FeatureCollection, with any extra keys a route adds (method, links...)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class BoroughSummary(BaseModel):
    """Counts by borough, the filters applied and how they were protected."""

    model_config = ConfigDict(extra="allow")

    boroughs: list[dict[str, Any]]
    filters: list[str]
    disclosure: dict[str, Any]
    method_note: list[str]


class ThemeCounts(BaseModel):
    """Category counts by step, area and kind of source (rows plus names given once)."""

    model_config = ConfigDict(extra="allow")

    exact: bool
    counts: list[dict[str, Any]]
    cells: int
    suppressed_cells: int


class SurveyLink(BaseModel):
    """A buddy's survey link: its URL, when it expires and its QR code as SVG."""

    model_config = ConfigDict(extra="allow")

    walk_id: str
    url: str
    expires_at: str
    qr_svg: str


class SurveyStored(BaseModel):
    """A buddy's survey answers were stored."""

    walk_id: str
    stored: bool


class ConcernStored(BaseModel):
    """A concern raised on a walk, stored as a walk-concern report."""

    id: uuid.UUID
    walk_id: uuid.UUID
    source: str


class JsonSchemaDocument(BaseModel):
    """A JSON Schema document (an OGC collection's queryables/feature schema)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str


def content(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI media-type object for ``model`` (its JSON Schema inlined).

    The models here are flat (no nested models), so the inlined schema has no ``$defs`` to
    resolve.
    """
    return {"schema": model.model_json_schema()}


def geojson(model: type[BaseModel], description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers ``application/geo+json`` shaped like ``model``."""
    return {200: {"description": description, "content": {GEOJSON: content(model)}}}


def export_content(types: Mapping[str, str]) -> dict[str, Any]:
    """The content of a download: each file type, with the GeoJSON one's schema declared."""
    return {t: content(FeatureCollection) if t == GEOJSON else {} for t in types.values()}


def file_response(media_type: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a download: the file's content type (a file has no JSON Schema)."""
    return {200: {"description": "the file", "content": {media_type: {}}}}


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong and how to fix it (``detail``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: Any


PROBLEM_JSON = "application/problem+json"


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Say in ``schema`` (an OpenAPI document) that every 4xx answer is problem+json.

    FastAPI documents a 422 ``HTTPValidationError`` in ``application/json``, but the service's
    error handlers (``service.errors``) answer every client error, 422 included, as
    ``application/problem+json`` with a :class:`Problem` body; the document says so, for the
    422 and for the other 4xx (``4XX``) each operation may answer.
    """
    problem = {
        "description": "A problem (RFC 9457): what was wrong and how to fix it",
        "content": {PROBLEM_JSON: content(Problem)},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses")
            if not isinstance(responses, dict):
                continue
            for status, response in responses.items():
                if status.startswith("4") and status != "4XX":
                    response["content"] = {PROBLEM_JSON: content(Problem)}
                    if status == "422":
                        response["description"] = problem["description"]
            responses.setdefault("4XX", problem)
    return schema
