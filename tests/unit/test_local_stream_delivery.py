"""How the local demo delivers stream records to the relay, as an event source mapping would
(tools/local_lambda.deliver_records): batches of BatchSize, a partial batch response retried from
its first failed record, given up after MaximumRetryAttempts."""

from typing import Any

import pytest

from tools.local_lambda import DeployedStreamMapping, Invocation, deliver_records
from tools.local_stack import StepFailed


def records(count: int) -> list[dict]:
    return [{"dynamodb": {"SequenceNumber": str(100 + n)}} for n in range(count)]


def mapping(batch_size: int = 3, retry_attempts: int = 2, reports_item_failures: bool = True) -> DeployedStreamMapping:
    return DeployedStreamMapping("arn:stream", "arn:function", batch_size, retry_attempts, reports_item_failures)


class Relay:
    """Fails the given sequence numbers, each for its number of attempts; records what it was handed."""

    def __init__(self, failing: dict[int, int] | None = None) -> None:
        self.failing = dict(failing or {})
        self.batches: list[list[int]] = []

    def __call__(self, event: dict) -> Any:
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        self.batches.append(numbers)
        failed = [n for n in numbers if self.failing.get(n, 0) > 0]
        for n in failed:
            self.failing[n] -= 1
        return {"batchItemFailures": [{"itemIdentifier": str(n)} for n in failed]}


def test_records_go_in_batches_of_the_mappings_batch_size() -> None:
    relay = Relay()
    assert deliver_records(mapping(), records(7), relay) == [
        Invocation(3, None),
        Invocation(3, None),
        Invocation(1, None),
    ]
    assert relay.batches == [[100, 101, 102], [103, 104, 105], [106]]


def test_a_reported_failure_is_retried_from_the_first_failed_record() -> None:
    relay = Relay(failing={104: 1, 105: 1})
    invocations = deliver_records(mapping(), records(7), relay)
    # 104 and 105 fail once: Lambda checkpoints before 104 and reads the next batch from there.
    assert relay.batches == [[100, 101, 102], [103, 104, 105], [104, 105, 106]]
    assert invocations == [Invocation(3, None), Invocation(3, 1), Invocation(3, None)]


def test_a_record_that_keeps_failing_stops_after_the_mappings_retries() -> None:
    relay = Relay(failing={101: 10})
    with pytest.raises(StepFailed, match="from stream record 101 \\(2 retries\\)"):
        deliver_records(mapping(), records(4), relay)
    assert relay.batches == [[100, 101, 102], [101, 102, 103], [101, 102, 103]]


def test_without_report_batch_item_failures_lambda_ignores_the_response() -> None:
    relay = Relay(failing={101: 10})
    assert deliver_records(mapping(reports_item_failures=False), records(4), relay) == [
        Invocation(3, None),
        Invocation(1, None),
    ]


def test_an_identifier_naming_no_record_of_the_batch_fails_the_whole_batch() -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}, {"batchItemFailures": []}])
    assert deliver_records(mapping(), records(2), lambda event: next(answers)) == [
        Invocation(2, 0),
        Invocation(2, None),
    ]
