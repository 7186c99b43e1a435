"""The signup body at its limits (docs: API, "Status codes and errors"): base64 strictly of its
alphabet, 4096 bytes, e-mail addresses of at most 254 characters without control characters or
empty domain labels."""

import base64
import json

import pytest

from referrals.validation import SignupRequest, ValidationError, parse_signup

NOT_BASE64 = "request body is marked base64-encoded but is not valid base64"
IMPLAUSIBLE = "email must be a plausible address"


def body(**fields: object) -> str:
    return json.dumps(fields)


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "insert",
    ["!", " ", "\n", "*", "-", "_", "\u00e9"],  # outside A-Z a-z 0-9 + / (and "-_" of the URL-safe alphabet)
)
def test_a_base64_body_with_a_character_outside_the_alphabet_is_refused(insert: str) -> None:
    valid = encoded(body(userId="u1", referralCode="r1"))
    assert parse_signup(valid, is_base64_encoded=True) == SignupRequest("u1", "r1", None)
    tampered = valid[:8] + insert + valid[8:]
    with pytest.raises(ValidationError) as raised:
        parse_signup(tampered, is_base64_encoded=True)
    assert str(raised.value) == NOT_BASE64


def test_base64_with_wrong_padding_is_refused() -> None:
    with pytest.raises(ValidationError, match=NOT_BASE64):
        parse_signup(encoded(body(userId="u1")).rstrip("="), is_base64_encoded=True)


def _body_of(size: int) -> str:
    prefix, suffix = '{"userId":"u1","referralCode":"r1","pad":"', '"}'
    return prefix + "a" * (size - len(prefix) - len(suffix)) + suffix


def test_a_body_of_4097_bytes_is_refused_for_its_size() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signup(_body_of(4097))
    assert str(raised.value) == "request body must be at most 4096 bytes"


def test_a_body_of_4096_bytes_passes_the_size_check() -> None:
    # Refused only for the unknown field it carries: the size check let it through.
    with pytest.raises(ValidationError, match="unknown field 'pad'"):
        parse_signup(_body_of(4096))


def test_the_size_is_measured_after_base64_decoding() -> None:
    with pytest.raises(ValidationError, match="unknown field 'pad'"):
        parse_signup(encoded(_body_of(4096)), is_base64_encoded=True)  # 5,464 characters encoded
    with pytest.raises(ValidationError, match="at most 4096 bytes"):
        parse_signup(encoded(_body_of(4097)), is_base64_encoded=True)


def address(length: int) -> str:
    domain = "@example.com"
    return "a" * (length - len(domain)) + domain


def test_an_email_of_254_characters_is_accepted() -> None:
    assert len(address(254)) == 254
    assert parse_signup(body(userId="u1", email=address(254))).email == address(254)


def test_an_email_of_255_characters_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signup(body(userId="u1", email=address(255)))
    assert str(raised.value) == (
        "email must be a plausible address (at most 254 characters, one '@', a dot in the domain)"
    )


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x1f", "\x7f", "\t", "\n", "\r", "\x0b", "\x0c", " "])
@pytest.mark.parametrize("where", ["local", "domain", "tld"])
def test_control_characters_and_whitespace_anywhere_in_an_email_are_refused(control: str, where: str) -> None:
    email = {
        "local": f"us{control}er@example.com",
        "domain": f"user@exa{control}mple.com",
        "tld": f"user@example.c{control}om",
    }[where]
    with pytest.raises(ValidationError, match=IMPLAUSIBLE):
        parse_signup(body(userId="u1", email=email))


@pytest.mark.parametrize(
    "email",
    ["user@.example.com", "user@example..com", "user@example.com.", "user@.", "user@..", "user@example"],
)
def test_a_domain_needs_non_empty_labels_around_each_dot(email: str) -> None:
    with pytest.raises(ValidationError, match=IMPLAUSIBLE):
        parse_signup(body(userId="u1", email=email))


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@mail.example.co.uk", "\u00fcser@b\u00fccher.de"])
def test_plausible_addresses_are_accepted(email: str) -> None:
    assert parse_signup(body(userId="u1", email=email)).email == email


@pytest.mark.parametrize("user_id", ["a" * 65, "", "a.b", "a b", "\u00e4"])
def test_ids_are_1_to_64_of_the_allowed_characters(user_id: str) -> None:
    with pytest.raises(ValidationError, match="userId must be 1-64 characters"):
        parse_signup(body(userId=user_id))


@pytest.mark.parametrize(
    ("raw", "base64_encoded", "error"),
    [
        (None, False, "request body is required (a JSON object)"),
        ("", False, "request body is required (a JSON object)"),
        ("{not json", False, "request body must be valid UTF-8 JSON"),
        ('{"userId": "u1", "email": NaN}', False, "request body must be valid UTF-8 JSON"),
        ('{"userId": "u1", "extra": [Infinity]}', False, "request body must be valid UTF-8 JSON"),
        ("not base64!", True, NOT_BASE64),
        ('["userId"]', False, "request body must be a JSON object"),
        (
            body(userId="u1", referalCode="r1"),
            False,
            "unknown field 'referalCode'; expected only userId, referralCode, email",
        ),
        (body(referralCode="r1"), False, "userId is required"),
        (body(userId=7), False, "userId must be a string"),
        (
            body(userId="u1", referralCode="a b"),
            False,
            "referralCode must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'",
        ),
        (body(userId="u1", email=5), False, "email must be a string"),
        (
            body(userId="alice", referralCode="alice"),
            False,
            "referralCode must not be the user's own userId (self-referral)",
        ),
    ],
)
def test_each_refusal_answers_with_the_message_of_the_readme_table(
    raw: str | None, base64_encoded: bool, error: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signup(raw, base64_encoded)
    assert str(raised.value) == error
