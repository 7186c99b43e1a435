"""GET /referrers/{code}: counters from the profile, pending and paid sums from the referral items."""

import boto3

from referrals import contract as c
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import invoke, referral_of, sign_up, stats_event


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
    }
    assert log.calls == ["dynamodb:GetItem", "dynamodb:Query"]


def test_stats_of_a_referrer_without_referrals_or_counters(aws: FakeAws) -> None:
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={c.USER_ID: "legacy", c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP}
    )
    assert invoke(stats_event("legacy")) == (
        200,
        {"referralCode": "legacy", "referralCount": 0, "totalRewards": 0, "pendingAmount": 0, "paidAmount": 0},
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
