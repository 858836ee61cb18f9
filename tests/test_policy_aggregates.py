"""Aggregate scope: signing in adds to what the public may see and never takes it away."""

from __future__ import annotations

import pytest

from service import policy
from service.auth import PUBLIC, Principal, Role
from service.errors import InvalidInput

LAMBETH, SOUTHWARK = "E09000022", "E09000028"
EVERY = (SOUTHWARK, LAMBETH)


def caller(role: Role, *boroughs: str) -> Principal:
    return Principal(role=role, name=role.value, borough_codes=boroughs)


def test_the_public_default_to_every_borough() -> None:
    assert policy.aggregate_boroughs(PUBLIC, (), EVERY) == (LAMBETH, SOUTHWARK)


@pytest.mark.parametrize("role", [Role.partner, Role.planner, Role.officer, Role.supervisor])
def test_a_signed_in_caller_defaults_to_her_own_boroughs_and_may_ask_for_any(role) -> None:
    me = caller(role, LAMBETH)
    assert policy.aggregate_boroughs(me, (), EVERY) == (LAMBETH,)
    assert policy.aggregate_boroughs(me, [SOUTHWARK], EVERY) == (SOUTHWARK,)
    assert policy.aggregate_boroughs(me, [SOUTHWARK, LAMBETH], EVERY) == (LAMBETH, SOUTHWARK)


def test_a_caller_whose_boroughs_are_not_in_the_ward_set_gets_every_borough() -> None:
    assert policy.aggregate_boroughs(caller(Role.partner, "E09000001"), (), EVERY) == (
        LAMBETH,
        SOUTHWARK,
    )


def test_a_borough_outside_the_ward_set_is_refused_naming_the_choices() -> None:
    with pytest.raises(InvalidInput, match=r"E09000001 are not in the active ward set; choose"):
        policy.aggregate_boroughs(PUBLIC, ["E09000001"], EVERY)


def test_exact_counts_are_for_supervisors_over_their_own_boroughs_only() -> None:
    supervisor = caller(Role.supervisor, LAMBETH)
    assert policy.sees_exact_counts(supervisor, [LAMBETH])
    assert not policy.sees_exact_counts(supervisor, [LAMBETH, SOUTHWARK])
    assert not policy.sees_exact_counts(caller(Role.partner, LAMBETH), [LAMBETH])
    assert not policy.sees_exact_counts(PUBLIC, [LAMBETH])
