"""GET /referrers/{code}: counters from the profile, amounts by state from the referrer's items on
referrer-index (docs/lifecycle-design.md#stats): rewards in every state, clawbacks and carries."""

import time
from decimal import Decimal
from typing import Any

import boto3

from referrals import contract as c
from referrals import exact_json
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import LambdaContext, invoke, referral_of, sign_up, stats_event

AMOUNTS = (
    "pendingAmount",
    "paidAmount",
    "waitingAmount",
    "flaggedAmount",
    "payableAmount",
    "reversedAmount",
    "openClawbackAmount",
)


def _mark_paid(aws: FakeAws, user_id: str) -> None:
    """What a payout does to a reward it pays (GUIDE section 3)."""
    referral = referral_of(aws, user_id)
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).update_item(
        Key={c.USER_ID: user_id, c.REFERRAL_TIMESTAMP: referral[c.REFERRAL_TIMESTAMP]},
        UpdateExpression=f"SET #status = :paid, {c.PAYOUT_ID} = :payout REMOVE {c.PENDING_KEY}",
        ExpressionAttributeNames={"#status": c.STATUS},
        ExpressionAttributeValues={":paid": c.STATUS_PAID, ":payout": "payout-2026-11"},
    )


def test_stats_split_pending_and_paid(aws: FakeAws) -> None:
    sign_up("ref")
    sign_up("other")
    for n in range(1, 6):
        sign_up(f"user-{n}", "ref")  # 10, 10, 10, 10, 15
    sign_up("elsewhere", "other")  # another referrer's reward stays out of ref's sums
    _mark_paid(aws, "user-1")
    _mark_paid(aws, "user-5")
    with recorded_calls() as log:
        status, body = invoke(stats_event("ref"))
    assert status == 200
    assert body == {
        "referralCode": "ref",
        "referralCount": 5,
        "totalRewards": 55,
        "pendingAmount": 30,
        "paidAmount": 25,
        "waitingAmount": 0,
        "flaggedAmount": 0,
        "payableAmount": 30,  # today's signups write legacy pending items: payable
        "reversedAmount": 0,
        "openClawbackAmount": 0,
    }
    assert log.calls == ["dynamodb:GetItem", "dynamodb:Query"]


def test_stats_of_a_referrer_without_referrals_or_counters(aws: FakeAws) -> None:
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={c.USER_ID: "legacy", c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP}
    )
    assert invoke(stats_event("legacy")) == (
        200,
        {"referralCode": "legacy", "referralCount": 0, "totalRewards": 0} | dict.fromkeys(AMOUNTS, 0),
    )


def test_unknown_referrer_is_404(aws: FakeAws) -> None:
    assert invoke(stats_event("nobody")) == (404, {"error": "referrer 'nobody' does not exist"})


def test_bad_code_is_400_without_a_call(aws: FakeAws) -> None:
    with recorded_calls() as log:
        status, body = invoke(stats_event("not a code!"))
    assert status == 400
    assert body["error"].startswith("code must be 1-64 characters")
    assert log.calls == []
    assert invoke(stats_event(None))[0] == 400


def test_wrong_method_on_stats_is_405(aws: FakeAws) -> None:
    assert invoke(stats_event("ref") | {"httpMethod": "DELETE"}) == (405, {"error": "method not allowed; use GET"})


DAY_MS = 86_400_000


def _put(aws: FakeAws, user_id: str, amount: str, status: str, referrer: str = "ref", **extra: Any) -> None:
    """An item on referrer-index as its writer stores it: a referral item, a clawback or a carry."""
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={
            c.USER_ID: user_id,
            c.REFERRAL_TIMESTAMP: extra.pop("timestamp", 1_796_000_000_000),
            c.REFERRER_ID: referrer,
            c.REWARD_AMOUNT: Decimal(amount),
            c.STATUS: status,
            **extra,
        }
    )


def test_stats_by_state_with_held_rewards_clawbacks_and_carries(aws: FakeAws) -> None:
    sign_up("ref")
    now = int(time.time() * 1000)
    payable = {c.PAYABLE_KEY: c.PAYABLE_KEY_VALUE, c.QUALIFIED_AT: now - 2 * DAY_MS}
    open_ledger = {c.OPEN_CLAWBACK_KEY: c.OPEN_CLAWBACK_KEY_VALUE, c.CLAWBACK_AT: now - DAY_MS}
    _put(aws, "waits", "1.01", c.STATUS_WAITING)
    _put(aws, "flagged", "2.02", c.STATUS_FLAGGED, **{c.FLAGGED_KEY: c.FLAGGED_KEY_VALUE})
    _put(aws, "payable", "4.04", c.STATUS_PAYABLE, **payable, **{c.PAYABLE_AT: now - DAY_MS})
    _put(aws, "held", "8.08", c.STATUS_PAYABLE, **payable, **{c.PAYABLE_AT: now + 30 * DAY_MS})
    _put(aws, "legacy", "16.16", c.STATUS_PENDING, **{c.PENDING_KEY: c.PENDING_KEY_VALUE})
    _put(aws, "paid", "32.32", c.STATUS_PAID, **{c.PAYOUT_ID: "payout-2026-10"})
    _put(aws, "clawed", "64.64", c.STATUS_PAID, **{c.PAYOUT_ID: "payout-2026-10", c.CLAWED_BACK_AT: now})
    _put(aws, "voided", "128.28", c.STATUS_REVERSED, **{c.REVERSAL_REASON: "refunded order 4411"})
    _put(aws, f"clawed{c.CLAWBACK_SUFFIX}", "64.64", c.CLAWBACK_OPEN, **open_ledger)
    _put(aws, f"old{c.CLAWBACK_SUFFIX}", "3.00", c.CLAWBACK_SETTLED, **{c.PAYOUT_ID: "payout-2026-11"})
    _put(aws, f"ref{c.CARRY_SUFFIX}", "5.05", c.CLAWBACK_OPEN, **open_ledger, timestamp=1_798_761_600_000)
    _put(aws, f"ref{c.CARRY_SUFFIX}", "7.07", c.CLAWBACK_SETTLED, timestamp=1_796_083_200_000)
    _put(aws, "elsewhere", "500", c.STATUS_PAYABLE, referrer="other")  # another referrer's
    _put(aws, f"elsewhere{c.CLAWBACK_SUFFIX}", "500", c.CLAWBACK_OPEN, referrer="other", **open_ledger)
    # The counters as the eight signups left them: the ledger never touches them.
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).update_item(
        Key={c.USER_ID: "ref", c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP},
        UpdateExpression=f"SET {c.REFERRAL_COUNT} = :count, {c.TOTAL_REWARDS} = :total",
        ExpressionAttributeValues={":count": 8, ":total": Decimal("256.55")},
    )

    with recorded_calls() as log:
        answer = reward.handler(stats_event("ref"), LambdaContext())

    assert answer["statusCode"] == 200
    assert answer["body"] == (
        '{"referralCode":"ref","referralCount":8,"totalRewards":256.55,"pendingAmount":31.31,"paidAmount":96.96,'
        '"waitingAmount":9.09,"flaggedAmount":2.02,"payableAmount":20.20,"reversedAmount":128.28,'
        '"openClawbackAmount":69.69}'
    )
    body = exact_json.loads(answer["body"])
    assert body["totalRewards"] == body["pendingAmount"] + body["paidAmount"] + body["reversedAmount"]
    assert log.calls == ["dynamodb:GetItem", "dynamodb:Query"]  # one query reads rewards and ledger alike


def test_an_item_in_no_known_state_is_a_500_not_a_wrong_sum(aws: FakeAws) -> None:
    sign_up("ref")
    _put(aws, "odd", "1.00", "lost")
    status, body = invoke(stats_event("ref"))
    assert status == 500
    assert "odd" not in str(body)  # the answer names no data; the log has the error
