"""Admin input at the edge: `POST /referrals/{userId}/qualify|approve|reverse` and the review
queue `GET /referrals?status=flagged`. The raw API Gateway path, body or query in, a typed request
or a ValidationError (a 400 naming what is wrong) out; nothing here touches AWS, so bad input
costs no call and writes nothing.

The body rules are the signup's (validation.py): UTF-8 JSON, base64 if marked so, at most
MAX_BODY_BYTES, no NaN or Infinity. `qualify` and `approve` take no fields (no body, or `{}`);
`reverse` takes exactly `{"reason": "<1-500 characters>"}`.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from referrals.lifecycle import AdminAction
from referrals.validation import ValidationError, body_bytes, json_object, parse_id

MAX_REASON_CHARACTERS = 500
REASON_SHAPE = f'{{"reason": "<1-{MAX_REASON_CHARACTERS} characters>"}}'
QUEUE_PARAMETERS = ("status", "limit", "nextToken")
REVIEW_STATUS = "flagged"  # the one listing there is: the review queue
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 100
# A nextToken is what an earlier page handed out (the store's encoding of where it stopped):
# URL-safe base64, and far shorter than this.
_PAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,1024}={0,2}")
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class AdminRequest:
    user_id: str  # the referred user, whose referral's reward the action is about
    action: AdminAction
    reason: str | None = None  # why it is reversed (reverse only)


@dataclass(frozen=True)
class ReviewQueueRequest:
    page_size: int
    page_token: str | None  # None: the first page


def parse_admin_request(
    action: AdminAction, path_parameters: Mapping[str, object] | None, body: str | None, is_base64_encoded: bool
) -> AdminRequest:
    user_id = parse_id("userId", (path_parameters or {}).get("userId"))
    if action is AdminAction.REVERSE:
        return AdminRequest(user_id, action, _reason(_reverse_fields(body, is_base64_encoded)))
    fields = _optional_fields(body, is_base64_encoded)
    if fields:
        raise ValidationError(f"unknown field {sorted(fields)[0]!r}; {action} takes no fields (send no body, or {{}})")
    return AdminRequest(user_id, action)


def parse_review_queue(query: Mapping[str, Sequence[str]] | None) -> ReviewQueueRequest:
    """`query`: API Gateway's multiValueQueryStringParameters, so a parameter given twice is seen."""
    given = dict(query or {})
    unknown = sorted(set(given) - set(QUEUE_PARAMETERS))
    if unknown:
        raise ValidationError(f"unknown query parameter {unknown[0]!r}; expected only {', '.join(QUEUE_PARAMETERS)}")
    values: dict[str, str] = {}
    for name, listed in given.items():
        if len(listed) != 1:
            raise ValidationError(f"query parameter {name!r} must be given once")
        values[name] = listed[0]
    if values.get("status") != REVIEW_STATUS:
        raise ValidationError(f"status={REVIEW_STATUS} is required: the review queue is the one listing")
    return ReviewQueueRequest(_page_size(values.get("limit")), _page_token(values.get("nextToken")))


def _optional_fields(body: str | None, is_base64_encoded: bool) -> dict:
    if body is None or body == "":
        return {}
    return json_object(body_bytes(body, is_base64_encoded))


def _reverse_fields(body: str | None, is_base64_encoded: bool) -> dict:
    if body is None or body == "":
        raise ValidationError(f"request body is required: {REASON_SHAPE}")
    fields = json_object(body_bytes(body, is_base64_encoded))
    unknown = sorted(set(fields) - {"reason"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}; reverse takes only {REASON_SHAPE}")
    return fields


def _reason(fields: dict) -> str:
    if "reason" not in fields:
        raise ValidationError(f"reason is required: {REASON_SHAPE}")
    reason = fields["reason"]
    if not isinstance(reason, str):
        raise ValidationError("reason must be a string")
    if not 1 <= len(reason) <= MAX_REASON_CHARACTERS:
        raise ValidationError(f"reason must be 1-{MAX_REASON_CHARACTERS} characters, not {len(reason)}")
    if reason.isspace():
        raise ValidationError("reason must not be blank")
    # Cc: control characters (a reason is one line of text in events and logs); Cs: a lone
    # surrogate, which JSON can escape ("\ud800") but is not text DynamoDB can store.
    for character in reason:
        category = unicodedata.category(character)
        if category == "Cc":
            raise ValidationError(f"reason must not contain control characters (found U+{ord(character):04X})")
        if category == "Cs":
            raise ValidationError(f"reason must be valid Unicode text (found a lone surrogate U+{ord(character):04X})")
    return reason


def _page_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not _PAGE_SIZE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def _page_token(text: str | None) -> str | None:
    if text is None:
        return None
    if not _PAGE_TOKEN.fullmatch(text):
        raise ValidationError("nextToken must be the nextToken of an earlier page, as it was given")
    return text
