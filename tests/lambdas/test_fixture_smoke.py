import json

import boto3

from tests.lambdas.fake_aws import published_messages


def test_fixture_tables_and_topic_are_wired(aws):
    table = boto3.client("dynamodb").describe_table(TableName=aws.referral_table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        "referrer-index", "pending-rewards-index", "payout-index", "review-queue-index",
        "payable-rewards-index", "open-clawbacks-index",
    }
    boto3.client("sns").publish(TopicArn=aws.topic_arn, Message=json.dumps({"x": 1}))
    assert [json.loads(m["Body"]) for m in published_messages(aws)] == [{"x": 1}]


def test_call_log_records_and_injects_faults(aws):
    from referrals.aws_clients import client
    from tests.lambdas.aws_calls import InjectedFault, recorded_calls

    with recorded_calls() as log:
        client("dynamodb").describe_table(TableName=aws.referral_table)
        client("sns").list_topics()
    assert log.calls == ["dynamodb:DescribeTable", "sns:ListTopics"]
    with recorded_calls(fail_at=2) as log:
        client("s3").list_buckets()
        try:
            client("s3").list_buckets()
        except InjectedFault:
            pass
        else:
            raise AssertionError("second call should have failed")
    assert log.calls == ["s3:ListBuckets", "s3:ListBuckets"]
