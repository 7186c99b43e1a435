"""moto-backed AWS for handler tests: the tables (with their streams), topic, bucket and e-mail key HMAC key
as the stack defines them.

The fixture `aws` is registered in conftest.py.

Handler tests never import cdktf or the stack; they get the same environment names the stack
gives each function (GUIDE section 3), pointed at these emulated resources.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from referrals import contract as c

REGION = "us-east-1"
# Both tables stream every change with both images: the event relay reads them (the outbox).
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
# What REVIEW_EMAIL_KEY_ARN holds outside the fixture: the reward handler checks at import that the
# shared-e-mail signal has a key (tests/lambdas/conftest.py sets it); the fixture names its own.
KEY_ARN_AT_IMPORT = "arn:aws:kms:us-east-1:123456789012:key/set-by-the-aws-fixture"


@dataclass(frozen=True)
class FakeAws:
    referral_table: str
    idempotency_table: str
    topic_arn: str
    queue_url: str  # subscribed to the topic, so tests can read what was published
    bucket: str
    email_key_arn: str = ""  # the KMS HMAC key the e-mail key secret is derived from
    region: str = REGION


def _create_referral_table(dynamodb, name: str) -> None:
    projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(c.PAYOUT_PROJECTION)}
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
        KeySchema=[
            {"AttributeName": c.USER_ID, "KeyType": "HASH"},
            {"AttributeName": c.REFERRAL_TIMESTAMP, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": c.USER_ID, "AttributeType": "S"},
            {"AttributeName": c.REFERRAL_TIMESTAMP, "AttributeType": "N"},
            {"AttributeName": c.REFERRER_ID, "AttributeType": "S"},
            {"AttributeName": c.PENDING_KEY, "AttributeType": "S"},
            {"AttributeName": c.PAYOUT_ID, "AttributeType": "S"},
            {"AttributeName": c.FLAGGED_KEY, "AttributeType": "S"},
            {"AttributeName": c.PAYABLE_KEY, "AttributeType": "S"},
            {"AttributeName": c.PAYABLE_AT, "AttributeType": "N"},
            {"AttributeName": c.OPEN_CLAWBACK_KEY, "AttributeType": "S"},
            {"AttributeName": c.CLAWBACK_AT, "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": c.REFERRER_INDEX,
                "KeySchema": [{"AttributeName": c.REFERRER_ID, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": c.PENDING_REWARDS_INDEX,
                "KeySchema": [
                    {"AttributeName": c.PENDING_KEY, "KeyType": "HASH"},
                    {"AttributeName": c.REFERRAL_TIMESTAMP, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            },
            {
                "IndexName": c.PAYOUT_INDEX,
                "KeySchema": [
                    {"AttributeName": c.PAYOUT_ID, "KeyType": "HASH"},
                    {"AttributeName": c.REFERRAL_TIMESTAMP, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            },
            {
                "IndexName": c.REVIEW_QUEUE_INDEX,
                "KeySchema": [
                    {"AttributeName": c.FLAGGED_KEY, "KeyType": "HASH"},
                    {"AttributeName": c.REFERRAL_TIMESTAMP, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(c.REVIEW_QUEUE_PROJECTION)},
            },
            {
                "IndexName": c.PAYABLE_REWARDS_INDEX,
                "KeySchema": [
                    {"AttributeName": c.PAYABLE_KEY, "KeyType": "HASH"},
                    {"AttributeName": c.PAYABLE_AT, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            },
            {
                "IndexName": c.OPEN_CLAWBACKS_INDEX,
                "KeySchema": [
                    {"AttributeName": c.OPEN_CLAWBACK_KEY, "KeyType": "HASH"},
                    {"AttributeName": c.CLAWBACK_AT, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            },
        ],
    )


def _create_idempotency_table(dynamodb, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=STREAM,
        KeySchema=[{"AttributeName": c.IDEMPOTENCY_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": c.IDEMPOTENCY_KEY, "AttributeType": "S"}],
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    """Fresh emulated resources per test, and the function environment pointing at them."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
        "POWERTOOLS_SERVICE_NAME": "referrals-test",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        fake = FakeAws(
            referral_table="referral-tracking-test",
            idempotency_table="payout-idempotency-test",
            topic_arn="",
            queue_url="",
            bucket="payout-reports-test",
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _create_referral_table(dynamodb, fake.referral_table)
        _create_idempotency_table(dynamodb, fake.idempotency_table)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=fake.bucket)
        kms = boto3.client("kms", region_name=REGION)
        email_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="reward-notifications-test")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="notifications-probe")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        fake = FakeAws(
            referral_table=fake.referral_table,
            idempotency_table=fake.idempotency_table,
            topic_arn=topic_arn,
            queue_url=queue_url,
            bucket=fake.bucket,
            email_key_arn=email_key["KeyMetadata"]["Arn"],
        )
        for key, value in {
            "REFERRAL_TABLE_NAME": fake.referral_table,
            "IDEMPOTENCY_TABLE_NAME": fake.idempotency_table,
            "SNS_TOPIC_ARN": fake.topic_arn,
            "REPORTS_BUCKET_NAME": fake.bucket,
            "REGION": REGION,
            "REVIEW_EMAIL_KEY_ARN": fake.email_key_arn,
        }.items():
            monkeypatch.setenv(key, value)
        yield fake


def published_messages(fake: FakeAws) -> list[dict]:
    """Every message published to the topic so far (raw delivery to the probe queue), drained."""
    sqs = boto3.client("sqs", region_name=fake.region)
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=fake.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=fake.queue_url, ReceiptHandle=message["ReceiptHandle"])
