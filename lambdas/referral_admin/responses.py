"""Admin outcomes as API Gateway responses: the status code and the body each one answers.

A 200 body is the reward as it now is, built from the stored item alone, so a first call and its
idempotent repeat answer the same bytes.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

from referrals import exact_json
from referrals.admin_actions import AdminOutcome, AlreadySo, BadRequest, Busy, Moved, NotFound, Refused, StoredReward
from referrals.money import cents
from referrals.review_queue import QueuePage

JSON_HEADERS = {"Content-Type": "application/json"}
BUSY = "the reward is busy (a payout or another admin call is changing it); retry shortly"

Response = dict[str, Any]


def response_for(outcome: AdminOutcome) -> Response:
    match outcome:
        case Moved(reward) | AlreadySo(reward):
            return response(200, reward_body(reward))
        case Refused(message, state):
            return response(409, {"error": message, "status": state.value})
        case NotFound(user_id):
            return response(404, {"error": f"userId {user_id!r} has no referral"})
        case BadRequest(message):
            return response(400, {"error": message})
        case Busy():
            return response(503, {"error": BUSY}, {"Retry-After": "1"})
    assert_never(outcome)


def reward_body(reward: StoredReward) -> dict:
    body: dict = {
        "userId": reward.user_id,
        "referrerId": reward.referrer_id,
        "rewardAmount": cents(reward.reward_amount),  # DynamoDB hands 12.50 back as 12.5
        "status": reward.reward.state.value,
        "qualified": reward.reward.qualified,
    }
    if reward.payable_at is not None:
        body["payableAt"] = _iso(reward.payable_at)
    if reward.reversal_reason is not None:
        body["reason"] = reward.reversal_reason
    return body


def queue_page_body(page: QueuePage) -> dict:
    body: dict = {
        "items": [
            {
                "userId": reward.user_id,
                "referrerId": reward.referrer_id,
                "rewardAmount": cents(reward.reward_amount),
                "signals": list(reward.signals),
                "signupDate": reward.signup_date,
                "qualified": reward.qualified,
            }
            for reward in page.rewards
        ]
    }
    if page.next_token is not None:
        body["nextToken"] = page.next_token
    return body


def response(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return {"statusCode": status, "headers": JSON_HEADERS | (headers or {}), "body": exact_json.dumps(body)}


def _iso(epoch_ms: int) -> str:
    # The signup date's format (ISO-8601 UTC to the millisecond).
    moment = datetime.fromtimestamp(epoch_ms // 1000, UTC) + timedelta(milliseconds=epoch_ms % 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
