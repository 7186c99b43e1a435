"""The review queue (GET /referrals?status=flagged): flagged rewards, oldest first, a page at a time.

Plain Python: the store (admin_store.py) reads a page of review-queue-index; this module turns
where a page stopped into the opaque nextToken a caller hands back, and refuses (400, before any
call) a token that is not one. The caller is an authorized admin, so the token is not signed: a
crafted one only moves where their own listing starts.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from referrals.admin_requests import ReviewQueueRequest
from referrals.validation import ValidationError, parse_id

# An error message, not a secret (ruff reads "TOKEN" as a password name).
BAD_TOKEN = "nextToken must be the nextToken of an earlier page, as it was given"  # noqa: S105


@dataclass(frozen=True)
class QueuePosition:
    """The last reward of a page (its table keys): the next page starts after it."""

    user_id: str
    timestamp_ms: int


@dataclass(frozen=True)
class QueuedReward:
    user_id: str
    referrer_id: str
    reward_amount: Decimal
    signals: tuple[str, ...]  # sorted
    signup_date: str
    qualified: bool


@dataclass(frozen=True)
class QueuePage:
    rewards: tuple[QueuedReward, ...]
    next_token: str | None  # None: the last page


class ReviewQueueStore(Protocol):
    def review_queue_page(
        self, page_size: int, start: QueuePosition | None
    ) -> tuple[tuple[QueuedReward, ...], QueuePosition | None]: ...


def review_page(store: ReviewQueueStore, request: ReviewQueueRequest) -> QueuePage:
    """Raises ValidationError for a token that is not one this module handed out."""
    start = None if request.page_token is None else decode_token(request.page_token)
    rewards, last = store.review_queue_page(request.page_size, start)
    return QueuePage(rewards, None if last is None else encode_token(last))


def encode_token(position: QueuePosition) -> str:
    text = json.dumps({"userId": position.user_id, "timestamp": position.timestamp_ms}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_token(token: str) -> QueuePosition:
    try:
        fields = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValidationError(BAD_TOKEN) from error
    if not isinstance(fields, dict) or set(fields) != {"userId", "timestamp"}:
        raise ValidationError(BAD_TOKEN)
    timestamp = fields["timestamp"]
    # bool is an int in Python; a referral's timestamp is after the profile's (0).
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise ValidationError(BAD_TOKEN)
    try:
        user_id = parse_id("userId", fields["userId"])
    except ValidationError as error:
        raise ValidationError(BAD_TOKEN) from error
    return QueuePosition(user_id, timestamp)
