"""Admin input at the edge (referrals/admin_requests.py): what qualify, approve and reverse accept,
that every malformed body is a 400 (a ValidationError), and the review queue's query."""

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.admin_requests import (
    DEFAULT_PAGE_SIZE,
    MAX_REASON_CHARACTERS,
    AdminRequest,
    ReviewQueueRequest,
    parse_admin_request,
    parse_review_queue,
)
from referrals.lifecycle import AdminAction
from referrals.validation import MAX_BODY_BYTES, ValidationError

QUALIFY, APPROVE, REVERSE = AdminAction.QUALIFY, AdminAction.APPROVE, AdminAction.REVERSE
BOB: dict[str, object] = {"userId": "bob"}
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def admin(
    action: AdminAction, body: str | None, is_base64_encoded: bool = False, path: dict[str, object] | None = BOB
) -> AdminRequest:
    return parse_admin_request(action, path, body, is_base64_encoded)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("action", [QUALIFY, APPROVE])
@pytest.mark.parametrize(
    ("body", "is_base64_encoded"),
    [(None, False), ("", False), ("{}", False), (" { }\n", False), (b64(b"{}"), True), ("", True)],
)
def test_qualify_and_approve_take_no_body_or_an_empty_object(
    action: AdminAction, body: str | None, is_base64_encoded: bool
) -> None:
    assert admin(action, body, is_base64_encoded) == AdminRequest("bob", action)


@pytest.mark.parametrize(
    "reason",
    ["refund #4411", "x", "x" * MAX_REASON_CHARACTERS, "🙂" * MAX_REASON_CHARACTERS, "  padded  ", "Straße, 東京"],
)
def test_reverse_takes_a_reason_of_1_to_500_characters_as_given(reason: str) -> None:
    body = json.dumps({"reason": reason}, ensure_ascii=False)
    assert admin(REVERSE, body) == AdminRequest("bob", REVERSE, reason)
    assert admin(REVERSE, b64(body.encode()), is_base64_encoded=True) == AdminRequest("bob", REVERSE, reason)


@pytest.mark.parametrize(
    ("action", "body", "problem"),
    [
        (QUALIFY, '{"reason": "x"}', "unknown field 'reason'; qualify takes no fields (send no body, or {})"),
        (APPROVE, '{"a": 1, "b": 2}', "unknown field 'a'; approve takes no fields"),
        (APPROVE, "[]", "request body must be a JSON object"),
        (APPROVE, "null", "request body must be a JSON object"),
        (QUALIFY, "{", "request body must be valid UTF-8 JSON"),
        (QUALIFY, "   ", "request body must be valid UTF-8 JSON"),
        (QUALIFY, '{"a": NaN}', "request body must be valid UTF-8 JSON"),
        (REVERSE, None, 'request body is required: {"reason": "<1-500 characters>"}'),
        (REVERSE, "", "request body is required"),
        (REVERSE, "{}", 'reason is required: {"reason": "<1-500 characters>"}'),
        (REVERSE, '{"reason": "x", "by": "me"}', "unknown field 'by'; reverse takes only"),
        (REVERSE, '{"Reason": "x"}', "unknown field 'Reason'"),
        (REVERSE, '{"reason": null}', "reason must be a string"),
        (REVERSE, '{"reason": 7}', "reason must be a string"),
        (REVERSE, '{"reason": ""}', "reason must be 1-500 characters, not 0"),
        (REVERSE, json.dumps({"reason": "x" * 501}), "reason must be 1-500 characters, not 501"),
        (REVERSE, '{"reason": " \\u2003 "}', "reason must not be blank"),
        (REVERSE, '{"reason": "line one\\nline two"}', r"must not contain control characters \(found U\+000A\)"),
        (REVERSE, '{"reason": "bell\\u0007"}', r"control characters \(found U\+0007\)"),
        (REVERSE, '{"reason": "half \\ud83d"}', r"valid Unicode text \(found a lone surrogate U\+D83D\)"),
        (REVERSE, '["reason"]', "request body must be a JSON object"),
        (REVERSE, json.dumps({"reason": "x", "pad": "y" * MAX_BODY_BYTES}), "at most 4096 bytes"),
    ],
)
def test_bad_bodies_name_the_problem(action: AdminAction, body: str | None, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem if "\\" in problem else re.escape(problem)):
        admin(action, body)


def test_bad_base64_is_refused() -> None:
    with pytest.raises(ValidationError, match="marked base64-encoded but is not valid base64"):
        admin(QUALIFY, "not base64!", is_base64_encoded=True)
    with pytest.raises(ValidationError, match="valid UTF-8 JSON"):
        admin(REVERSE, b64(b'{"reason": "\xff"}'), is_base64_encoded=True)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (None, "userId must be a string"),
        ({}, "userId must be a string"),
        ({"userId": 7}, "userId must be a string"),
        ({"userId": ""}, "userId must be 1-64 characters"),
        ({"userId": "a" * 65}, "userId must be 1-64 characters"),
        ({"userId": "bob#clawback"}, "userId must be 1-64 characters"),  # never a ledger or queue item
        ({"userId": "bo b"}, "userId must be 1-64 characters"),
    ],
)
def test_the_user_id_follows_the_signup_rules(path: dict[str, object] | None, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        admin(QUALIFY, None, path=path)


# Generated malformed bodies -----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
GOOD_REASONS = st.text(min_size=1, max_size=MAX_REASON_CHARACTERS).filter(
    lambda text: not text.isspace() and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)
)
OTHER_KEYS = st.text(min_size=1, max_size=10).filter(lambda key: key != "reason")


def parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def with_one_of(text: str, characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, len(text)), characters).map(lambda t: text[: t[0]] + t[1] + text[t[0] :])


NOT_JSON = st.text(min_size=1, max_size=200).filter(lambda text: not parses_as_json(text))
NOT_AN_OBJECT = JSON_VALUES.filter(lambda value: not isinstance(value, dict)).map(json.dumps)
OVERSIZED = st.integers(MAX_BODY_BYTES, MAX_BODY_BYTES + 500).map(lambda n: json.dumps({"reason": "x", "pad": "y" * n}))
# Bodies that are broken for any action: not JSON, not an object, too big, not UTF-8, bad base64.
BROKEN = st.one_of(
    NOT_JSON.map(lambda text: (text, False)),
    NOT_AN_OBJECT.map(lambda text: (text, False)),
    OVERSIZED.map(lambda text: (text, False)),
    st.binary(min_size=1, max_size=64).map(lambda raw: (b64(b'{"reason": "' + raw + b'\xff"}'), True)),
    NOT_JSON.filter(lambda text: not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text)).map(lambda text: (text, True)),
)
BAD_REASONS = st.one_of(
    st.just(""),
    st.text(min_size=MAX_REASON_CHARACTERS + 1, max_size=MAX_REASON_CHARACTERS + 50),
    st.text(alphabet=" \t\u00a0\u2003\u3000", min_size=1, max_size=MAX_REASON_CHARACTERS),
    GOOD_REASONS.filter(lambda t: len(t) < MAX_REASON_CHARACTERS).flatmap(
        lambda text: with_one_of(text, st.characters(categories=["Cc"]))
    ),
    GOOD_REASONS.filter(lambda t: len(t) < MAX_REASON_CHARACTERS).flatmap(
        lambda text: with_one_of(text, st.characters(categories=["Cs"]))
    ),
)
MALFORMED_REVERSE = st.one_of(
    BROKEN,
    st.dictionaries(OTHER_KEYS, JSON_VALUES, max_size=4).map(lambda fields: (json.dumps(fields), False)),
    st.tuples(GOOD_REASONS, OTHER_KEYS, JSON_VALUES).map(lambda t: (json.dumps({"reason": t[0], t[1]: t[2]}), False)),
    JSON_VALUES.filter(lambda value: not isinstance(value, str)).map(lambda v: (json.dumps({"reason": v}), False)),
    BAD_REASONS.map(lambda reason: (json.dumps({"reason": reason}), False)),
    st.just((None, False)),
)
MALFORMED_NO_FIELDS = st.one_of(
    BROKEN,
    st.dictionaries(st.text(max_size=10), JSON_VALUES, min_size=1, max_size=4).map(lambda f: (json.dumps(f), False)),
)
MALFORMED = st.one_of(
    st.tuples(st.just(REVERSE), MALFORMED_REVERSE), st.tuples(st.sampled_from([QUALIFY, APPROVE]), MALFORMED_NO_FIELDS)
)


@settings(max_examples=1500, deadline=None)
@given(MALFORMED)
def test_every_malformed_admin_body_is_refused(case: tuple[AdminAction, tuple[str | None, bool]]) -> None:
    action, (body, is_base64_encoded) = case
    with pytest.raises(ValidationError) as refusal:
        admin(action, body, is_base64_encoded)
    assert str(refusal.value)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80).filter(lambda text: not ID.fullmatch(text))
    | JSON_VALUES.filter(lambda v: not isinstance(v, str))
)
def test_every_malformed_user_id_is_refused(user_id: object) -> None:
    with pytest.raises(ValidationError, match="userId must be"):
        admin(QUALIFY, None, path={"userId": user_id})


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(list(AdminAction)),
    st.one_of(st.none(), st.text(max_size=100), JSON_VALUES.map(json.dumps)),
    st.booleans(),
)
def test_any_body_is_accepted_or_refused_and_nothing_else(
    action: AdminAction, body: str | None, is_base64_encoded: bool
) -> None:
    try:
        request = admin(action, body, is_base64_encoded)
    except ValidationError:
        return
    assert request.user_id == "bob"
    assert (request.reason is not None) is (action is REVERSE)


@settings(max_examples=300, deadline=None)
@given(GOOD_REASONS, st.booleans())
def test_every_good_reason_is_taken_exactly(reason: str, ascii_only: bool) -> None:
    assert (
        admin(REVERSE, json.dumps({"reason": reason}, ensure_ascii=ascii_only and len(reason) < 300)).reason == reason
    )


# The review queue ---------------------------------------------------------------------------------


def test_the_review_queue_pages_through_flagged_rewards() -> None:
    assert parse_review_queue({"status": ["flagged"]}) == ReviewQueueRequest(DEFAULT_PAGE_SIZE, None)
    assert parse_review_queue({"status": ["flagged"], "limit": ["1"]}) == ReviewQueueRequest(1, None)
    query = {"status": ["flagged"], "limit": ["100"], "nextToken": ["eyJ1IjoiYm9iIn0="]}
    assert parse_review_queue(query) == ReviewQueueRequest(100, "eyJ1IjoiYm9iIn0=")


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (None, "status=flagged is required"),
        ({"status": ["paid"]}, "status=flagged is required"),
        ({"status": ["flagged"], "state": ["x"]}, "unknown query parameter 'state'; expected only status, limit"),
        ({"status": ["flagged", "flagged"]}, "query parameter 'status' must be given once"),
        ({"status": ["flagged"], "limit": ["0"]}, "limit must be a whole number from 1 to 100"),
        ({"status": ["flagged"], "limit": ["101"]}, "limit must be a whole number from 1 to 100"),
        ({"status": ["flagged"], "limit": ["-5"]}, "limit must be a whole number"),
        ({"status": ["flagged"], "limit": ["٣"]}, "limit must be a whole number"),  # ASCII digits only
        ({"status": ["flagged"], "limit": [""]}, "limit must be a whole number"),
        ({"status": ["flagged"], "nextToken": [""]}, "nextToken must be the nextToken of an earlier page"),
        ({"status": ["flagged"], "nextToken": ["a b"]}, "nextToken must be the nextToken of an earlier page"),
        ({"status": ["flagged"], "nextToken": ["a" * 1025]}, "nextToken must be the nextToken of an earlier page"),
    ],
)
def test_bad_review_queue_queries_name_the_problem(query: dict[str, list[str]] | None, problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        parse_review_queue(query)
