"""The relay's DLQ redriven from the table stream (tools/relay_redrive.py) against moto.

Lambda sends the DLQ a batch's position, not its records; the tool reads the records back from
the stream, hands them to the relay (here in-process: moto cannot invoke a function), and deletes
the message only when the relay reported no failed record.
"""

import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import CONTEXT, Relay, invoke, published
from tests.lambdas.reward_api import sign_up
from tests.lambdas.stream_records import REGIONAL_ENDPOINT, StreamReader
from tests.lambdas.test_relay_failures import sns_refuses
from tools.relay_redrive import EXPIRED_ADVICE, RelayFailed, lambda_invoker, redrive

RELAY = "event-relay-test"
USERS = ("bob", "carol", "dave")
ARRIVAL = "%Y-%m-%dT%H:%M:%SZ"  # how the on-failure record writes the records' arrival


class Tool:
    """The redrive on the fixture's DLQ, the relay's handler standing in for Lambda's invoke."""

    def __init__(self, aws: FakeAws) -> None:
        self.sqs = boto3.client("sqs", region_name=aws.region)
        self.streams = boto3.client("dynamodbstreams", region_name=aws.region, config=REGIONAL_ENDPOINT)
        self.queue_url = self.sqs.create_queue(QueueName="event-relay-dlq-test")["QueueUrl"]
        self.invoked: list[tuple[str, dict]] = []
        self.lines: list[str] = []

    def invoke(self, function: str, event: dict) -> dict:
        self.invoked.append((function, event))
        return invoke(event)

    def run(self, *, dry_run: bool = False) -> list[Any]:
        return redrive(
            self.queue_url,
            RELAY,
            sqs=self.sqs,
            streams=self.streams,
            invoke=self.invoke,
            dry_run=dry_run,
            wait_seconds=0,
            say=self.lines.append,
        )

    def put(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def bodies_left(self) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [message["Body"] for message in messages]


@pytest.fixture
def tool(aws: FakeAws) -> Tool:
    return Tool(aws)


@pytest.fixture
def records(aws: FakeAws) -> list[dict]:
    """The referral table's stream after alice enrols and bob, carol and dave sign up with her code."""
    with acting_as("reward-calculator"):
        sign_up("alice")
        for user in USERS:
            sign_up(user, "alice")
    return StreamReader(aws.referral_table).new_records()


def shard_of(tool: Tool, stream_arn: str) -> str:
    [shard] = tool.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    return str(shard["ShardId"])


def lambda_gave_up(tool: Tool, batch: list[dict], condition: str = "RetryAttemptsExhausted") -> str:
    """The DLQ message Lambda sends for a stream batch it gave up on (AWS's on-failure record)."""
    first, last = batch[0], batch[-1]

    def arrival(record: dict) -> str:
        return datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC).strftime(ARRIVAL)

    return json.dumps(
        {
            "requestContext": {
                "requestId": "316aa6d0-8154-4f7b-9af7-85d5f4a6bc81",
                "functionArn": CONTEXT.invoked_function_arn,
                "condition": condition,
                "approximateInvokeCount": 11,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-12-01T20:13:49.717Z",
            "DDBStreamBatchInfo": {
                "shardId": shard_of(tool, first["eventSourceARN"]),
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": len(batch),
                "streamArn": first["eventSourceARN"],
            },
        }
    )


def index_of_referral(records: list[dict], user: str) -> int:
    [index] = [
        i
        for i, r in enumerate(records)
        if r["eventName"] == "INSERT"
        and r["dynamodb"]["Keys"]["user_id"]["S"] == user
        and r["dynamodb"]["Keys"]["referral_timestamp"]["N"] != "0"
    ]
    return index


def test_a_batch_is_read_back_relayed_and_its_message_deleted(aws: FakeAws, tool: Tool, records: list[dict]) -> None:
    # carol's and dave's signups: from the record after bob's referral to dave's referral.
    batch = records[index_of_referral(records, "bob") + 1 : index_of_referral(records, "dave") + 1]
    tool.put(lambda_gave_up(tool, batch))

    [outcome] = tool.run()

    assert outcome.status == "REDRIVEN"
    assert tool.invoked == [(RELAY, {"Records": batch})]  # the records as Lambda delivered them
    assert [m.body["eventId"] for m in published(aws)] == ["referral.rewarded:carol", "referral.rewarded:dave"]
    assert tool.bodies_left() == []
    assert tool.lines == [outcome.line()]
    assert f"{len(batch)} records relayed by {RELAY}; deleted" in outcome.line()


def test_a_redrive_publishes_again_with_the_same_event_ids(
    aws: FakeAws, tool: Tool, relay: Relay, records: list[dict]
) -> None:
    """Only carol's publish kept failing: Lambda retried from her record, then gave up on that batch.
    dave, after her in it, was published on every attempt and is published again by the redrive."""
    [event] = relay.events()
    with sns_refuses("carol"):
        [failure] = invoke(event)["batchItemFailures"]
        retried = [
            r for r in event["Records"] if int(r["dynamodb"]["SequenceNumber"]) >= int(failure["itemIdentifier"])
        ]
        assert invoke({"Records": retried})["batchItemFailures"] == [failure]
    before = [message.text for message in published(aws)]
    assert [json.loads(text)["userId"] for text in before] == ["bob", "dave", "dave"]
    tool.put(lambda_gave_up(tool, retried))

    [outcome] = tool.run()

    assert outcome.status == "REDRIVEN"
    redriven = published(aws)
    assert [m.body["userId"] for m in redriven] == ["carol", "dave"]
    assert redriven[1].text == before[1]  # the same message, the same eventId: a consumer drops the repeat
    delivered = {json.loads(text)["eventId"] for text in before} | {m.body["eventId"] for m in redriven}
    assert delivered == {f"referral.rewarded:{user}" for user in USERS}


def test_records_the_stream_no_longer_holds_are_reported_and_the_message_kept(
    aws: FakeAws, tool: Tool, records: list[dict]
) -> None:
    """Past 24 hours the stream answers TrimmedDataAccessException (or has no such shard)."""

    def trimmed(**_: Any) -> None:
        error = {"Code": "TrimmedDataAccessException", "Message": "the requested data has been trimmed"}
        raise ClientError({"Error": error}, "GetShardIterator")

    body = lambda_gave_up(tool, records[:3], condition="RecordAgeExceeded")
    tool.put(body)
    tool.streams.meta.events.register("before-call.dynamodbstreams.GetShardIterator", trimmed, unique_id="trim")
    try:
        [outcome] = tool.run()
    finally:
        tool.streams.meta.events.unregister("before-call.dynamodbstreams.GetShardIterator", unique_id="trim")

    assert outcome.status == "EXPIRED"
    assert "TrimmedDataAccessException" in outcome.detail
    assert "RecordAgeExceeded" in outcome.detail
    assert tool.lines == [outcome.line(), EXPIRED_ADVICE]
    assert "still in the tables" in EXPIRED_ADVICE
    assert tool.invoked == []
    assert published(aws) == []
    assert tool.bodies_left() == [body]  # kept, and visible again at once


def test_a_range_the_shard_does_not_hold_is_reported_and_the_message_kept(
    aws: FakeAws, tool: Tool, records: list[dict]
) -> None:
    beyond = json.loads(lambda_gave_up(tool, records[-1:]))
    newest = int(beyond["DDBStreamBatchInfo"]["endSequenceNumber"])
    beyond["DDBStreamBatchInfo"] |= {"startSequenceNumber": str(newest + 10), "endSequenceNumber": str(newest + 12)}
    tool.put(json.dumps(beyond))

    [outcome] = tool.run()

    assert outcome.status == "EXPIRED"
    assert "holds no records" in outcome.detail
    assert tool.invoked == []
    assert len(tool.bodies_left()) == 1


@pytest.mark.parametrize("refused", [("carol",), USERS], ids=["one record fails", "every record fails"])
def test_a_relay_that_still_fails_leaves_the_message(
    aws: FakeAws, tool: Tool, records: list[dict], refused: tuple[str, ...]
) -> None:
    """One failed record comes back in batchItemFailures; a batch of only failures makes the handler raise."""
    referrals = [records[index_of_referral(records, user)] for user in USERS]
    batch = records[index_of_referral(records, "bob") : index_of_referral(records, "dave") + 1]
    body = lambda_gave_up(tool, batch if len(refused) == 1 else referrals[-1:])
    tool.put(body)
    with sns_refuses(*refused):
        [outcome] = tool.run()

    assert outcome.status == "FAILED"
    if len(refused) == 1:
        carol = records[index_of_referral(records, "carol")]["dynamodb"]["SequenceNumber"]
        assert f"reported failed records {carol}; kept" in outcome.detail
        assert sorted(m.body["userId"] for m in published(aws)) == ["bob", "dave"]
    else:
        assert "All records failed" in outcome.detail
        assert published(aws) == []
    assert tool.bodies_left() == [body]


def test_a_dry_run_reads_the_records_and_invokes_nothing(aws: FakeAws, tool: Tool, records: list[dict]) -> None:
    body = lambda_gave_up(tool, records)
    tool.put(body)
    tool.put('{"Records": "not a stream batch record"}')

    outcomes = tool.run(dry_run=True)

    assert [o.status for o in outcomes] == ["DRY-RUN", "UNREADABLE"]
    assert f"would invoke {RELAY} with {len(records)} records" in outcomes[0].detail
    assert tool.invoked == []
    assert published(aws) == []
    assert len(tool.bodies_left()) == 2


def test_through_lambda_a_function_error_fails_and_the_response_is_returned() -> None:
    def lambda_answering(payload: Any, **extra: str) -> SimpleNamespace:
        answer = {"Payload": io.BytesIO(json.dumps(payload).encode()), "StatusCode": 200, **extra}
        return SimpleNamespace(invoke=lambda **_: answer)

    failures = {"batchItemFailures": [{"itemIdentifier": "42"}]}
    assert lambda_invoker(lambda_answering(failures))(RELAY, {"Records": []}) == failures
    with pytest.raises(RelayFailed, match="Unhandled"):
        lambda_invoker(lambda_answering({"errorMessage": "All records failed"}, FunctionError="Unhandled"))(
            RELAY, {"Records": []}
        )
