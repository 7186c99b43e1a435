"""API Gateway's body schema and the function's validation agree: the schema refuses only bodies
the function would refuse too (so no valid signup is lost at the gateway)."""

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.validation import ValidationError, parse_signup
from stacks.api_schema import SIGNUP_SCHEMA

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
