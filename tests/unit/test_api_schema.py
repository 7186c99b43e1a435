"""API Gateway's body schemas and the functions' validation agree: a schema refuses only bodies the
function would refuse too (so no valid signup or reversal is lost at the gateway)."""

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals import admin_requests
from referrals.admin_requests import parse_admin_request
from referrals.lifecycle import AdminAction
from referrals.validation import ValidationError, parse_signup
from stacks.api_schema import MAX_REASON_CHARACTERS, REVERSE_SCHEMA, SIGNUP_SCHEMA

VALIDATOR = jsonschema.Draft4Validator(SIGNUP_SCHEMA)

EXAMPLES = [
    {"userId": "alice"},
    {"userId": "bob", "referralCode": "alice", "email": "bob@example.com"},
    {"userId": "bob", "referralCode": None, "email": None},
    {"userId": "b" * 64, "referralCode": "A_-9"},
    {"userId": ""},
    {"userId": "b" * 65},
    {"userId": "bob!"},
    {"userId": 7},
    {"referralCode": "alice"},
    {"userId": "bob", "referralCode": "alice", "extra": 1},
    {"userId": "bob", "email": "no-at-sign"},
    {"userId": "bob", "email": "a@b@c.d"},
    {"userId": "bob", "email": "x" * 250 + "@ex.com"},
    {"userId": "bob", "email": "bob@localhost"},
    {"userId": "bob", "referralCode": "bob"},
]


def _function_accepts(body: dict) -> bool:
    try:
        parse_signup(json.dumps(body))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("body", EXAMPLES)
def test_schema_never_refuses_what_the_function_accepts(body: dict) -> None:
    if _function_accepts(body):
        assert VALIDATOR.is_valid(body)


def test_schema_refuses_the_plainly_malformed_bodies() -> None:
    for body in ({"userId": ""}, {"userId": 7}, {"referralCode": "alice"}, {"userId": "bob", "extra": 1}):
        assert not VALIDATOR.is_valid(body)


identifiers = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), st.text(max_size=70), st.none())
emails = st.one_of(st.emails(), st.text(max_size=300), st.none())


@settings(max_examples=300, deadline=None)
@given(user_id=identifiers, code=identifiers, email=emails)
def test_generated_bodies_accepted_by_the_function_pass_the_schema(user_id, code, email) -> None:
    body = {"userId": user_id, "referralCode": code, "email": email}
    if _function_accepts(body):
        assert VALIDATOR.is_valid(body), body


# POST /referrals/{userId}/reverse ------------------------------------------------------------------

REVERSE_VALIDATOR = jsonschema.Draft4Validator(REVERSE_SCHEMA)


def _reverse_accepted(body: object) -> bool:
    try:
        parse_admin_request(AdminAction.REVERSE, {"userId": "bob"}, json.dumps(body), False)
    except ValidationError:
        return False
    return True


def test_the_reverse_schema_mirrors_the_functions_bound() -> None:
    assert MAX_REASON_CHARACTERS == admin_requests.MAX_REASON_CHARACTERS


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.fixed_dictionaries({"reason": st.text(max_size=510)}),
        st.fixed_dictionaries({"reason": st.sampled_from(["x" * 500, "x" * 501, "é" * 500, "\U0001f600" * 250])}),
        st.dictionaries(st.sampled_from(["reason", "why", "Reason"]), st.one_of(st.text(max_size=5), st.integers())),
    )
)
def test_the_reverse_schema_never_refuses_a_body_the_function_accepts(body: dict) -> None:
    if _reverse_accepted(body):
        assert REVERSE_VALIDATOR.is_valid(body), body


def test_the_reverse_schema_refuses_the_plainly_malformed_bodies() -> None:
    for body in ({}, {"reason": ""}, {"reason": 7}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}):
        assert not REVERSE_VALIDATOR.is_valid(body), body
        assert not _reverse_accepted(body), body
