"""`referrals payout run`'s progress counts the rewards a payout claimed, not the clawbacks it settled
(both are on payout-index since the reward lifecycle)."""

import boto3
from moto import mock_aws

from referrals_cli.payouts import claimed_count

TABLE = "referral-tracking-test"


def test_claimed_so_far_counts_rewards_and_leaves_settled_clawbacks_out() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "referral_timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "referral_timestamp", "AttributeType": "N"},
                {"AttributeName": "payout_id", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "payout-index",
                    "KeySchema": [
                        {"AttributeName": "payout_id", "KeyType": "HASH"},
                        {"AttributeName": "referral_timestamp", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        claimed = [("bob", "2026-11"), ("carol", "2026-11"), ("dave#clawback", "2026-11"), ("erin", "2026-10")]
        for user, month in claimed:
            item = {"user_id": {"S": user}, "referral_timestamp": {"N": "1"}, "payout_id": {"S": f"payout-{month}"}}
            dynamodb.put_item(TableName=TABLE, Item=item)

        assert claimed_count(dynamodb, TABLE, "2026-11") == 2
        assert claimed_count(dynamodb, TABLE, "2026-10") == 1
        assert claimed_count(dynamodb, TABLE, "2026-09") == 0
