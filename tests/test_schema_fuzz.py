"""schemathesis over the whole OpenAPI schema, as every role: no input may cause a 5xx.

Every operation gets generated requests (valid and invalid values, odd strings, NUL bytes,
surrogates, huge numbers), sent over HTTP to the app under uvicorn on a fresh clone of the
database, once anonymously and once with a token of each role. Bounded: a few examples per
operation, so the whole run stays within a couple of minutes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from service.app import create_app
from service.auth import Role
from service.settings import Settings
from tests.conftest import _temporary_database, make_token, serving

SCOPES: dict[Role, dict[str, Any]] = {
    Role.supervisor: {"command_unit": "AS"},
    Role.officer: {"wards": ["E05014118"]},
    Role.partner: {"boroughs": ["E09000022"]},
    Role.planner: {"boroughs": ["E09000028"]},
}


CONFORMANCE = [response_schema_conformance, content_type_conformance]


def _settings(url: str, home: Path) -> Settings:
    return Settings(
        database_url=url,
        home=home,
        secret_key=SecretStr(secrets.token_urlsafe(48)),
        tiles="none",
        report_rate_limit=100_000,
    )


@pytest.fixture(scope="module")
def fuzz_server(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """The app on loopback on its own database; the headers of the public and each role."""
    with _temporary_database(server_url, "walktalk_fuzz", template_db) as url:
        settings = _settings(url, tmp_path_factory.mktemp("fuzz-home"))
        headers: list[dict[str, str]] = [{}]
        for role, scope in SCOPES.items():
            token = make_token(settings, role.value, name=f"fuzz {role.value}", **scope)
            headers.append({"Authorization": f"Bearer {token}"})
        with serving(create_app(settings)) as base:
            yield base, headers


def _operations() -> list[Any]:
    # The schema is built from the app itself; building it needs no database.
    app = create_app(_settings("postgresql://unused/unused", Path("/nonexistent")))
    loaded = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in loaded.get_all_operations()]


def _has_invalid_values(operation: Any) -> bool:
    # A free-text path segment has no invalid value (any text is a string); an operation
    # with nothing else to send has no negative case.
    def constrained(parameter: Any) -> bool:
        kind = parameter.definition.get("schema", {})
        return parameter.location != "path" or set(kind) - {"type", "title", "description"} != set()

    return any(constrained(p) for p in operation.iter_parameters()) or bool(list(operation.body))


CASES = [
    pytest.param(operation, mode, id=f"{operation.label} {mode.value}")
    for operation in _operations()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_invalid_values(operation)
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_request_causes_a_server_error(
    operation: Any, mode: GenerationMode, fuzz_server: tuple[str, list[dict[str, str]]]
) -> None:
    base, headers = fuzz_server

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        with requests.Session() as http:
            for who in headers:
                response = case.call(base_url=base, session=http, headers=who, timeout=60)
                caller = f"{case.method} {case.formatted_path} as {list(who) or 'public'}"
                assert response.status_code < 500, (
                    f"{caller}: {response.status_code} {response.text[:500]}"
                )
                # The answer must be what the schema declares: a declared content type, and
                # a body valid against the declared schema for its status code.
                case.validate_response(response, checks=CONFORMANCE)

    fuzz()


def _is_json(media_type: str) -> bool:
    kind = media_type.split(";")[0].strip()
    return kind == "application/json" or kind.endswith("+json")


def test_every_json_answer_declares_its_schema() -> None:
    """Each operation's 2xx JSON answers (GeoJSON and problem+json alike) have a real schema.

    A route that builds its own ``Response`` gives FastAPI nothing to infer, so it documents
    ``{}`` (anything) unless it declares a model; then schemathesis has nothing to check.
    Files (CSV, GeoPackage, PNG, PDF, zip) declare their content type instead.
    """
    app = create_app(_settings("postgresql://unused/unused", Path("/nonexistent")))
    document = app.openapi()
    bare: list[str] = []
    json_answers = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content")
                if not content:
                    bare.append(f"{method.upper()} {path} {status}: no content type")
                    continue
                for media_type, body in content.items():
                    if _is_json(media_type):
                        json_answers += 1
                        if not body.get("schema"):
                            bare.append(f"{method.upper()} {path} {status} {media_type}")
    assert bare == [], "answers without a schema:\n" + "\n".join(bare)
    assert json_answers > 50  # the check saw the API, not an empty document


def test_client_errors_are_documented_as_problems() -> None:
    """Every operation says its 4xx answers are problem+json, as the error handlers send."""
    app = create_app(_settings("postgresql://unused/unused", Path("/nonexistent")))
    document = app.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert list(response["content"]) == ["application/problem+json"], (
                        f"{method.upper()} {path} {status}"
                    )
            assert "4XX" in operation["responses"], f"{method.upper()} {path}"
