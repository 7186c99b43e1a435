import json

import boto3
from tests.lambdas.fake_aws import published_messages


def test_fixture_tables_and_topic_are_wired(aws):
    table = boto3.client("dynamodb").describe_table(TableName=aws.referral_table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        "referrer-index", "pending-rewards-index", "payout-index"
    }
    boto3.client("sns").publish(TopicArn=aws.topic_arn, Message=json.dumps({"x": 1}))
    assert [json.loads(m["Body"]) for m in published_messages(aws)] == [{"x": 1}]
