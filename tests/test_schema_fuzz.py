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
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} as {who.keys() or 'public'}: "
                    f"{response.status_code} {response.text[:500]}"
                )

    fuzz()
