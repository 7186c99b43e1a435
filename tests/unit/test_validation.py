import base64
import json

import pytest

from referrals.validation import MAX_BODY_BYTES, SignupRequest, ValidationError, parse_id, parse_signup


def body(**fields: object) -> str:
    return json.dumps(fields)


def test_referral_signup_is_parsed() -> None:
    request = parse_signup(body(userId="new_user-1", referralCode="Ref-42", email="a.b@example.co.uk"))
    assert request == SignupRequest("new_user-1", "Ref-42", "a.b@example.co.uk")


def test_enrolment_has_no_code_and_null_means_absent() -> None:
    assert parse_signup(body(userId="u1")) == SignupRequest("u1", None, None)
    assert parse_signup(body(userId="u1", referralCode=None, email=None)) == SignupRequest("u1", None, None)


def test_base64_encoded_body_is_decoded() -> None:
    encoded = base64.b64encode(body(userId="u1", referralCode="r1").encode()).decode()
    assert parse_signup(encoded, is_base64_encoded=True) == SignupRequest("u1", "r1", None)


def test_ids_may_be_64_characters() -> None:
    assert parse_id("userId", "a" * 64) == "a" * 64


@pytest.mark.parametrize(
    ("raw", "base64_encoded", "field"),
    [
        (None, False, "request body is required"),
        ("", False, "request body is required"),
        ("{not json", False, "valid UTF-8 JSON"),
        ("[" * 3000 + "]" * 3000, False, "at most 4096 bytes"),
        ("[" * 2000 + "]" * 2000, False, "valid UTF-8 JSON"),  # deeper than the parser's recursion limit
        ("\udcff", False, "valid UTF-8 JSON"),  # a lone surrogate is not UTF-8
        ("not base64!", True, "not valid base64"),
        (base64.b64encode(b"\xff\xfe{}").decode(), True, "valid UTF-8 JSON"),
        ('["userId"]', False, "must be a JSON object"),
        ('"userId"', False, "must be a JSON object"),
        ("null", False, "must be a JSON object"),
        ("{}", False, "userId is required"),
        (body(userId="u1", referalCode="r1"), False, "unknown field 'referalCode'"),
        (body(userId=7), False, "userId must be a string"),
        (body(userId=""), False, "userId must be 1-64 characters"),
        (body(userId="a" * 65), False, "userId must be 1-64 characters"),
        (body(userId="a b"), False, "userId must be 1-64 characters"),
        (body(userId="abc\n"), False, "userId must be 1-64 characters"),
        (body(userId="é"), False, "userId must be 1-64 characters"),
        (body(userId="u1", referralCode=["r1"]), False, "referralCode must be a string"),
        (body(userId="u1", referralCode="r/1"), False, "referralCode must be 1-64 characters"),
        (body(userId="u1", referralCode="u1"), False, "self-referral"),
        (body(userId="u1", email=5), False, "email must be a string"),
        (body(userId="u1", email="no-at.example.com"), False, "email must be a plausible address"),
        (body(userId="u1", email="two@@example.com"), False, "email must be a plausible address"),
        (body(userId="u1", email="a@b@example.com"), False, "email must be a plausible address"),
        (body(userId="u1", email="user@localhost"), False, "email must be a plausible address"),
        (body(userId="u1", email="user@example."), False, "email must be a plausible address"),
        (body(userId="u1", email="@example.com"), False, "email must be a plausible address"),
        (body(userId="u1", email="us er@example.com"), False, "email must be a plausible address"),
        (body(userId="u1", email="bob\ud800@example.com"), False, "email must be a plausible address"),  # not text
        (body(userId="u1", email="a" * 243 + "@example.com"), False, "at most 254 characters"),
    ],
)
def test_bad_input_names_the_problem(raw: str | None, base64_encoded: bool, field: str) -> None:
    with pytest.raises(ValidationError, match=field.replace("(", r"\(").replace("[", r"\[")):
        parse_signup(raw, base64_encoded)


def test_size_limit_counts_bytes_not_characters() -> None:
    padding = "€" * ((MAX_BODY_BYTES - 40) // 3 + 20)  # fewer than 4096 characters, more bytes
    raw = json.dumps({"userId": "u1", "email": padding}, ensure_ascii=False)
    assert len(raw) < MAX_BODY_BYTES < len(raw.encode())
    with pytest.raises(ValidationError, match="at most 4096 bytes"):
        parse_signup(raw)


def test_body_of_exactly_the_limit_is_accepted() -> None:
    prefix = '{"userId":"u1","email":"'
    suffix = '@example.com"}'
    raw = prefix + "a" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(raw.encode()) == MAX_BODY_BYTES
    # Accepted by the size check; the 254-character email rule then names the field.
    with pytest.raises(ValidationError, match="email"):
        parse_signup(raw)


def test_path_code_is_validated_like_an_id() -> None:
    with pytest.raises(ValidationError, match="code must be a string"):
        parse_id("code", None)
    with pytest.raises(ValidationError, match="code must be 1-64"):
        parse_id("code", "a%20b")
