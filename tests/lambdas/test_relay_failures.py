"""The relay when SNS fails: partial batch responses, retries, and the same eventId on every redelivery.

What Lambda does with the response (retry from the reported record, bisect, give up after the
mapping's retries or record age and send the record to the on-failure destination) is the event
source mapping's configuration, not code: here the handler proves its side, which record it
reports and what it published.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from referrals import aws_clients, exact_json
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay, invoke, published
from tests.lambdas.reward_api import emitted_metrics, sign_up

USERS = ("bob", "carol", "dave")


@pytest.fixture
def batch(aws: FakeAws, relay: Relay) -> dict:
    """One stream event: alice's enrolment, then bob, carol and dave signing up with her code."""
    with acting_as("reward-calculator"):
        sign_up("alice")
        for user in USERS:
            sign_up(user, "alice")
    [event] = relay.events()
    return event


def sequence_number_of_referral(event: dict, user: str) -> str:
    [record] = [
        r
        for r in event["Records"]
        if r["eventName"] == "INSERT"
        and r["dynamodb"]["Keys"]["user_id"]["S"] == user
        and r["dynamodb"]["Keys"]["referral_timestamp"]["N"] != "0"
    ]
    return str(record["dynamodb"]["SequenceNumber"])


@contextmanager
def sns_refuses(*users: str) -> Iterator[list[str]]:
    """SNS answers 500 to the publish of these users' messages; yields every user it refused."""
    refused: list[str] = []

    def refuse(params: dict, **_: Any) -> None:
        user = next((u for u in users if f'"userId":"{u}"' in params["Message"]), None)
        if user is not None:
            refused.append(user)
            raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "Publish")

    sns = aws_clients.client("sns")
    sns.meta.events.register("before-parameter-build.sns.Publish", refuse, unique_id="sns-refuses")
    try:
        yield refused
    finally:
        sns.meta.events.unregister("before-parameter-build.sns.Publish", unique_id="sns-refuses")


def user_ids(aws: FakeAws) -> list[str]:
    return [message.body["userId"] for message in published(aws)]


def test_sns_failing_for_one_record_reports_only_that_record(
    aws: FakeAws, batch: dict, capsys: pytest.CaptureFixture
) -> None:
    capsys.readouterr()
    with sns_refuses("carol") as refused:
        response = invoke(batch)

    assert refused == ["carol"]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number_of_referral(batch, "carol")}]}
    assert user_ids(aws) == ["bob", "dave"]  # the rest of the batch went out
    metrics = emitted_metrics(capsys.readouterr().out)
    relay_metrics = [(name, value) for name, dimensions, value in metrics if dimensions == {"service": "event-relay"}]
    records = float(len(batch["Records"]))
    expected = [("EventsFailed", 1), ("EventsPublished", 1), ("EventsPublished", 1), ("RecordsRead", records)]
    assert sorted(relay_metrics) == expected


def test_lambdas_retry_from_the_failed_record_delivers_it_with_the_same_event_ids(aws: FakeAws, batch: dict) -> None:
    with sns_refuses("carol"):
        [failure] = invoke(batch)["batchItemFailures"]
    first = {message.body["userId"]: message.body for message in published(aws)}

    # Lambda checkpoints before the lowest reported sequence number and retries from there.
    retried = {
        "Records": [
            r for r in batch["Records"] if int(r["dynamodb"]["SequenceNumber"]) >= int(failure["itemIdentifier"])
        ]
    }
    assert invoke(retried) == {"batchItemFailures": []}

    again = [message.body for message in published(aws)]
    assert [body["userId"] for body in again] == ["carol", "dave"]  # dave a second time: at least once
    assert again[1] == first["dave"]  # the same message, the same eventId: consumers drop it
    delivered = {body["eventId"] for body in [*first.values(), *again]}
    assert delivered == {f"referral.rewarded:{user}" for user in USERS}


def test_a_record_that_keeps_failing_is_reported_on_every_attempt(aws: FakeAws, batch: dict) -> None:
    """Until the mapping's retries or record age run out and Lambda sends it to the on-failure destination."""
    carol = sequence_number_of_referral(batch, "carol")
    with sns_refuses("carol") as refused:
        responses = [invoke(batch) for _ in range(3)]
    assert refused == ["carol"] * 3
    assert responses == [{"batchItemFailures": [{"itemIdentifier": carol}]}] * 3
    assert user_ids(aws) == ["bob", "dave"] * 3


def test_a_batch_whose_every_record_fails_raises_so_lambda_retries_and_bisects_it(aws: FakeAws, batch: dict) -> None:
    referrals = {
        "Records": [
            r
            for r in batch["Records"]
            if r["dynamodb"]["SequenceNumber"] in {sequence_number_of_referral(batch, user) for user in USERS}
        ]
    }
    with sns_refuses(*USERS), pytest.raises(BatchProcessingError, match="All records failed"):
        invoke(referrals)
    assert published(aws) == []


def test_a_redelivered_batch_publishes_the_same_messages_with_the_same_event_ids(aws: FakeAws, batch: dict) -> None:
    assert invoke(batch) == {"batchItemFailures": []}
    first = [message.text for message in published(aws)]
    assert invoke(batch) == {"batchItemFailures": []}
    again = [message.text for message in published(aws)]

    assert again == first
    assert [exact_json.loads(text)["eventId"] for text in first] == [f"referral.rewarded:{user}" for user in USERS]


def test_a_stream_without_old_images_is_refused(aws: FakeAws, batch: dict) -> None:
    """The relay needs both images to tell a run that becomes completed from one that already was."""
    for record in batch["Records"]:
        record["dynamodb"]["StreamViewType"] = "NEW_IMAGE"
    with pytest.raises(BatchProcessingError):
        invoke(batch)
    assert published(aws) == []
