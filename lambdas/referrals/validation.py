"""Signup input at the edge: the raw API Gateway body or path parameter in, a typed request or a
ValidationError naming the field out. Nothing here touches AWS, so bad input costs no call.
The admin requests (admin_requests.py) share its body and id rules."""

import base64
import binascii
import json
import re
from dataclasses import dataclass

from referrals.exact_json import refuse_constant

MAX_BODY_BYTES = 4096
MAX_EMAIL_LENGTH = 254
FIELDS = ("userId", "referralCode", "email")

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# One "@", something before it, and a domain with a dot between non-empty labels; no whitespace
# or control characters anywhere, and no lone surrogate (JSON can escape one, "\ud800", but it is
# not text: DynamoDB could not store it, nor could the e-mail key hash it). Plausible, not
# RFC 5322: deliverability is the mailer's job.
_NOT_IN_EMAIL = r"@\s\x00-\x1f\x7f\ud800-\udfff"
_EMAIL = re.compile(rf"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}.]+(\.[^{_NOT_IN_EMAIL}.]+)+")


class ValidationError(ValueError):
    """Bad client input; the message names the field and becomes the 400 response's error."""


@dataclass(frozen=True)
class SignupRequest:
    user_id: str
    referral_code: str | None  # None: an enrolment (the user only gets a code of their own)
    email: str | None


def parse_signup(body: str | None, is_base64_encoded: bool = False) -> SignupRequest:
    fields = json_object(body_bytes(body, is_base64_encoded))
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        # A misspelt "referralCode" must not silently turn a referral into an enrolment.
        raise ValidationError(f"unknown field {unknown[0]!r}; expected only {', '.join(FIELDS)}")
    if "userId" not in fields:
        raise ValidationError("userId is required")
    user_id = parse_id("userId", fields["userId"])
    # null is treated as absent: many clients serialise unset optional fields that way.
    code = fields.get("referralCode")
    referral_code = None if code is None else parse_id("referralCode", code)
    email = fields.get("email")
    request = SignupRequest(user_id, referral_code, None if email is None else _email(email))
    if request.referral_code == request.user_id:
        raise ValidationError("referralCode must not be the user's own userId (self-referral)")
    return request


def parse_id(field: str, value: object) -> str:
    """A user id / referral code: 1-64 characters from [A-Za-z0-9_-]."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    if not _ID.fullmatch(value):
        raise ValidationError(f"{field} must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'")
    return value


def body_bytes(body: str | None, is_base64_encoded: bool) -> bytes:
    """The request body's bytes: required, base64-decoded if marked so, at most MAX_BODY_BYTES."""
    if body is None or body == "":
        raise ValidationError("request body is required (a JSON object)")
    if is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError("request body is marked base64-encoded but is not valid base64") from error
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(f"request body must be at most {MAX_BODY_BYTES} bytes")
    return raw


def json_object(raw: bytes) -> dict:
    """The body as a JSON object (standard JSON: no NaN or Infinity)."""
    try:
        # NaN and Infinity are not JSON; read as numbers they would reach the field checks.
        value = json.loads(raw.decode("utf-8"), parse_constant=refuse_constant)
    # RecursionError: 4 KB of "[[[[..." nests deeper than the parser's recursion limit.
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValidationError("request body must be valid UTF-8 JSON") from error
    if not isinstance(value, dict):
        raise ValidationError("request body must be a JSON object")
    return value


def _email(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("email must be a string")
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        raise ValidationError(
            f"email must be a plausible address (at most {MAX_EMAIL_LENGTH} characters, one '@', a dot in the domain)"
        )
    return value
