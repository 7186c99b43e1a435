"""GET /referrals?status=flagged on moto: flagged rewards only, oldest first, page by page with
nextToken; a reward leaves the queue when it is approved or reversed; a token that is not one is a
400 before any call."""

import base64
import json

import pytest

from referrals.review_queue import QueuePosition, decode_token, encode_token
from referrals.validation import ValidationError
from tests.lambdas.admin_api import act, invoke, queue_event, seed
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import referral_of


def queue(**query: str) -> tuple[int, dict]:
    return invoke(queue_event({"status": ["flagged"]} | {name: [value] for name, value in query.items()}))


def test_the_queue_pages_through_flagged_rewards_oldest_first(aws: FakeAws) -> None:
    flagged = [f"flagged{n}" for n in range(5)]
    for n, user_id in enumerate(flagged):
        seed(aws, "flagged_qualified" if n == 0 else "flagged", user_id)
    seed(aws, "payable", "clear")
    seed(aws, "waiting", "waits")
    listed, token, pages = [], None, 0
    while True:
        status, body = queue(limit="2") if token is None else queue(limit="2", nextToken=token)
        assert status == 200, body
        listed += body["items"]
        pages += 1
        token = body.get("nextToken")
        if token is None:
            break
    assert [item["userId"] for item in listed] == flagged
    assert pages <= 4  # a page may come back with a nextToken and nothing after it (DynamoDB's Limit)
    first = referral_of(aws, "flagged0")
    assert listed[0] == {
        "userId": "flagged0",
        "referrerId": "alice",
        "rewardAmount": 10,
        "signals": ["email_of_referrer"],
        "signupDate": first["signup_date"],
        "qualified": True,
    }
    assert [item["qualified"] for item in listed] == [True, False, False, False, False]


def test_an_approved_or_reversed_reward_leaves_the_queue(aws: FakeAws) -> None:
    for user_id in ("ann", "ben", "cat"):
        seed(aws, "flagged", user_id)
    assert act("ann", "approve")[0] == 200
    assert act("ben", "reverse")[0] == 200
    status, body = queue()
    assert (status, [item["userId"] for item in body["items"]], "nextToken" in body) == (200, ["cat"], False)


def test_an_empty_queue_is_one_page_without_a_token(aws: FakeAws) -> None:
    assert queue() == (200, {"items": []})


@pytest.mark.parametrize(
    "token",
    [
        "bm90LWpzb24",  # "not-json" unpadded
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"userId": "bob"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"userId": "bob", "timestamp": True}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"userId": "bob", "timestamp": 0}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"userId": "b b", "timestamp": 5}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"userId": "bob", "timestamp": 5, "x": 1}).encode()).decode(),
    ],
)
def test_a_token_that_is_not_one_is_a_400_with_no_call(aws: FakeAws, token: str) -> None:
    with recorded_calls() as log:
        status, body = queue(nextToken=token)
    assert (status, body) == (400, {"error": "nextToken must be the nextToken of an earlier page, as it was given"})
    assert log.calls == []


def test_a_token_round_trips() -> None:
    position = QueuePosition("bob_-9", 1_796_000_000_123)
    assert decode_token(encode_token(position)) == position
    with pytest.raises(ValidationError):
        decode_token(encode_token(position)[:-4])


def test_the_queue_needs_a_signed_caller_and_its_query(aws: FakeAws) -> None:
    assert invoke(queue_event({"status": ["flagged"]}, caller=None))[0] == 403
    assert invoke(queue_event(None))[0] == 400
    assert invoke(queue_event({"status": ["payable"]}))[0] == 400
    assert invoke(queue_event({"status": ["flagged"]}) | {"httpMethod": "POST"})[0] == 405
