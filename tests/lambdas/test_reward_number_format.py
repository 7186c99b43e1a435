"""One rule for every amount the signup path writes: plain notation with two places, never an
exponent. REWARD_TIERS may say "1e3"; the table, the API and the notification all say 1000.00."""

import boto3
import pytest

from referrals import contract as c
from reward_calculator import handler as reward
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay
from tests.lambdas.reward_api import LambdaContext, referral_of, sign_up, signup_event, stats_event


def raw_item(aws: FakeAws, user_id: str, timestamp: int) -> dict:
    """The item as DynamoDB's wire format has it: each number is the string that was written."""
    key = {c.USER_ID: {"S": user_id}, c.REFERRAL_TIMESTAMP: {"N": str(timestamp)}}
    client = boto3.client("dynamodb", region_name=aws.region)
    return client.get_item(TableName=aws.referral_table, Key=key, ConsistentRead=True)["Item"]


@pytest.mark.parametrize("setting", ['{"1": "1e3"}', '{"1": 1E+3}', '{"1": "1000"}', '{"1": 1000.0}'])
def test_amounts_are_written_in_plain_notation_whatever_the_setting_says(
    aws: FakeAws, relay: Relay, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setattr(reward, "TIERS", reward.parse_tiers(setting))
    sign_up("alice")
    answer = reward.handler(signup_event({"userId": "bob", "referralCode": "alice"}), LambdaContext())

    assert answer["statusCode"] == 200
    assert answer["body"] == '{"message":"referral recorded","rewardAmount":1000.00,"referralCount":1}'
    referral = raw_item(aws, "bob", int(referral_of(aws, "bob")[c.REFERRAL_TIMESTAMP]))
    assert referral[c.REWARD_AMOUNT] == {"N": "1000.00"}
    assert raw_item(aws, "alice", c.PROFILE_TIMESTAMP)[c.TOTAL_REWARDS] == {"N": "1000.00"}
    [message] = relay.messages()
    assert '"rewardAmount":1000.00,' in message.text


def test_the_stats_answer_in_plain_notation_with_two_places(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reward, "TIERS", reward.parse_tiers('{"1": "1e3", "2": "2.5"}'))
    sign_up("alice")
    sign_up("bob", "alice")
    sign_up("carol", "alice")

    answer = reward.handler(stats_event("alice"), LambdaContext())

    assert answer["statusCode"] == 200
    assert answer["body"] == (
        '{"referralCode":"alice","referralCount":2,"totalRewards":1002.50,"pendingAmount":1002.50,"paidAmount":0.00,'
        '"waitingAmount":0.00,"flaggedAmount":0.00,"payableAmount":1002.50,"reversedAmount":0.00,'
        '"openClawbackAmount":0.00}'
    )
