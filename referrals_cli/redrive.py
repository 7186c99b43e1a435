"""Redrive the event relay's dead-letter queue from the table streams (`referrals events redrive`).

When Lambda gives up on a stream batch (the relay's mapping ran out of retries or the records
grew too old), it moves the shard on and sends the relay's DLQ (output `relay-dlq-url`) the
batch's position, not its records:

    {"requestContext": {"functionArn", "condition": "RetryAttemptsExhausted", ...},
     "responseContext": {...}, "version": "1.0", "timestamp": ...,
     "DDBStreamBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber",
                            "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                            "batchSize", "streamArn"}}

For each such message this reads that shard's records from startSequenceNumber to
endSequenceNumber back from the stream, invokes the relay synchronously with them (the event
Lambda would send), and deletes the message only when the relay reported no failed record.
Otherwise the message stays in the queue for the next run. A redriven record may have been
published before (the rest of a batch in which one record failed): it goes out again with the
same eventId, and consumers drop repeats by it.

A stream keeps its records for 24 hours. Once they are gone the message stays and the line says
EXPIRED: every referral item, clawback and completed payout run is still in the tables, and the
relay's messages (with the same eventIds) can be rebuilt from the current items: each lifecycle
step leaves its time on the item (qualified_at, approved_at, reversed_at; a clawback item).
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from referrals_cli.deployed_code import InvokeFunction, function_invoker

# Long enough for a slow invocation; a message kept is made visible again at the end of the run.
VISIBILITY_TIMEOUT_SECONDS = 900
RECEIVE_WAIT_SECONDS = 5
# GetRecords may answer an empty page before the part of a shard that holds records.
EMPTY_PAGES_TOLERATED = 5
# What the stream answers once the records, their shard or the stream itself are gone.
GONE_ERRORS = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
EXPIRED_ADVICE = (
    "Records past the stream's 24-hour retention are gone. Every referral item and every completed payout "
    "run is still in the tables: rebuild the relay's messages for that time from the current items "
    "(referral.rewarded and reward.* from the referral items' status and qualified_at, approved_at, reversed_at; "
    "reward.clawed_back from #clawback items; payout.completed from completed run records; the same eventIds), "
    "then delete the message from the queue."
)

SUCCESSFUL = frozenset({"REDRIVEN", "DRY-RUN"})

# (function name, stream event) -> the relay's response; raises when the invocation itself failed.
Invoke = Callable[[str, dict], dict]


class RelayFailed(Exception):
    """The relay raised (Lambda's FunctionError): every record of the batch failed, or the code did."""


class RecordsGone(Exception):
    """The stream no longer holds the batch's records (or never held them)."""


@dataclass(frozen=True)
class BatchPosition:
    stream_arn: str
    shard_id: str
    first: str  # startSequenceNumber
    last: str  # endSequenceNumber
    size: int  # batchSize
    first_arrival: str  # approximateArrivalOfFirstRecord
    condition: str  # why Lambda gave up: RetryAttemptsExhausted, RecordAgeExceeded, ...

    @classmethod
    def from_body(cls, body: str) -> "BatchPosition":
        message = json.loads(body)
        info = message["DDBStreamBatchInfo"]
        return cls(
            stream_arn=info["streamArn"],
            shard_id=info["shardId"],
            first=info["startSequenceNumber"],
            last=info["endSequenceNumber"],
            size=int(info["batchSize"]),
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", "?")),
            condition=str(message.get("requestContext", {}).get("condition", "?")),
        )

    def __str__(self) -> str:
        table = self.stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
        return f"{table} {self.shard_id} {self.first}..{self.last} ({self.size} records, {self.condition})"


def read_batch(streams: Any, position: BatchPosition) -> list[dict]:
    """The batch's records, first to last, in the shape Lambda delivered them; RecordsGone otherwise."""
    first, last = int(position.first), int(position.last)
    records: list[dict] = []
    try:
        for record in shard_records(
            streams,
            position.stream_arn,
            position.shard_id,
            {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": position.first},
            empty_pages=EMPTY_PAGES_TOLERATED,
        ):
            if sequence_number(record) > last:
                break
            records.append(record)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in GONE_ERRORS:
            raise RecordsGone(f"{code}: {error.response['Error'].get('Message', '')}") from error
        raise
    numbers = [sequence_number(record) for record in records]
    if not numbers or numbers[0] != first or numbers[-1] != last:
        found = f"{numbers[0]}..{numbers[-1]}" if numbers else "none"
        raise RecordsGone(f"the shard holds no records {first}..{last} (found {found})")
    return records


def lambda_invoker(lambda_client: Any) -> Invoke:
    """Invoke through Lambda, synchronously (RequestResponse), as the event source mapping does."""
    return relay_invoker(function_invoker(lambda_client))


def relay_invoker(invoke_function: InvokeFunction) -> Invoke:
    """The relay's invocation: its response, or RelayFailed when the function raised."""

    def invoke(function: str, event: dict) -> dict:
        answer = invoke_function(function, event)
        if answer.error is not None:
            raise RelayFailed(f"{answer.error}: {json.dumps(answer.payload, default=str)[:500]}")
        return answer.payload if isinstance(answer.payload, dict) else {}

    return invoke


@dataclass(frozen=True)
class Outcome:
    message_id: str
    status: str  # REDRIVEN, EXPIRED, FAILED, UNREADABLE, DRY-RUN
    detail: str

    @property
    def deleted(self) -> bool:
        return self.status == "REDRIVEN"

    def line(self) -> str:
        return f"{self.status:<10} {self.message_id}  {self.detail}"


def redrive_message(body: str, *, function: str, streams: Any, invoke: Invoke, dry_run: bool) -> tuple[str, str]:
    """(status, detail) for one DLQ message; only REDRIVEN lets it be deleted."""
    try:
        position = BatchPosition.from_body(body)
    except (ValueError, KeyError, TypeError) as error:
        return "UNREADABLE", f"not a DynamoDB stream batch record ({error!r}); kept"
    try:
        records = read_batch(streams, position)
    except RecordsGone as gone:
        return "EXPIRED", f"{position}, first arrived {position.first_arrival}: {gone}; kept"
    if dry_run:
        return "DRY-RUN", f"{position}: would invoke {function} with {len(records)} records; kept"
    try:
        response = invoke(function, stream_event(records))
    except Exception as error:  # any failure of the invocation keeps the message for the next run
        return "FAILED", f"{position}: {function} failed: {error}; kept"
    failures = response.get("batchItemFailures") or []
    if failures:
        failed = ", ".join(str(failure.get("itemIdentifier")) for failure in failures)
        return "FAILED", f"{position}: {function} reported failed records {failed}; kept"
    return "REDRIVEN", f"{position}: {len(records)} records relayed by {function}; deleted"


def redrive(
    queue_url: str,
    function: str,
    *,
    sqs: Any,
    streams: Any,
    invoke: Invoke,
    dry_run: bool = False,
    wait_seconds: int = RECEIVE_WAIT_SECONDS,
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    """Every message of the queue, once each; one line per message to `say`."""
    outcomes: list[Outcome] = []
    kept: list[str] = []  # receipt handles, made visible again at the end
    for message in _messages(sqs, queue_url, wait_seconds):
        status, detail = redrive_message(
            message["Body"], function=function, streams=streams, invoke=invoke, dry_run=dry_run
        )
        outcome = Outcome(message["MessageId"], status, detail)
        if outcome.deleted:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            kept.append(message["ReceiptHandle"])
        say(outcome.line())
        outcomes.append(outcome)
    for receipt in kept:  # the next run, or another operator, sees them at once
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    if any(outcome.status == "EXPIRED" for outcome in outcomes):
        say(EXPIRED_ADVICE)
    return outcomes


def summary_line(outcomes: list[Outcome]) -> str:
    deleted = sum(outcome.deleted for outcome in outcomes)
    return f"messages: {len(outcomes)}, redriven and deleted: {deleted}, kept: {len(outcomes) - deleted}"


def all_redriven(outcomes: list[Outcome]) -> bool:
    """True when no message stays for a reason (a dry run keeps them all, by design)."""
    return all(outcome.status in SUCCESSFUL for outcome in outcomes)


def _messages(sqs: Any, queue_url: str, wait_seconds: int) -> Iterator[dict]:
    """Each message once, until a receive brings nothing new."""
    seen: set[str] = set()
    while True:
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
        ).get("Messages", [])
        fresh = [message for message in received if message["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


# Stream records, as the relay's event source mapping delivers them --------------------------------


def shard_records(
    streams: Any, stream_arn: str, shard_id: str, position: dict[str, str], empty_pages: int = 0
) -> Iterator[dict]:
    """The records of one shard from `position` (get_shard_iterator's ShardIteratorType and
    SequenceNumber) on, in Lambda's event shape; stops after `empty_pages` + 1 empty pages in a
    row, or where a closed shard ends."""
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **position)["ShardIterator"]
    empty = 0
    while iterator:
        page = streams.get_records(ShardIterator=iterator)
        empty = 0 if page["Records"] else empty + 1
        if empty > empty_pages:
            return
        yield from (as_lambda_delivers(record, stream_arn) for record in page["Records"])
        iterator = page.get("NextShardIterator")


def as_lambda_delivers(record: dict, stream_arn: str) -> dict:
    """A get_records record as Lambda's event carries it (it adds eventSourceARN)."""
    stream = dict(record["dynamodb"])
    # boto3 parses the creation time; Lambda's JSON event carries epoch seconds.
    created = stream.get("ApproximateCreationDateTime")
    if created is not None and not isinstance(created, int | float):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", stream_arn.split(":")[3]),
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def sequence_number(record: dict) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def stream_event(records: list[dict]) -> dict:
    """One invocation's event: {"Records": [...]}, as the event source mapping sends it."""
    return {"Records": records}
