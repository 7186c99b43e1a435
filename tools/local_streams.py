"""Table streams read as a Lambda event source mapping reads them, in the event shape Lambda sends.

The emulator runs no event source mapping (tools/emulator_gaps.py), so the demo, tests/e2e and
tests/lambdas read the records themselves with dynamodbstreams (describe_stream,
get_shard_iterator, get_records until a shard has no more) and hand them to the relay's handler
as Lambda would: `{"Records": [...]}` with each record as Lambda's JSON event carries it.
`referrals events redrive` (referrals_cli/redrive.py, where the record shape lives) builds its
events against AWS with the same functions.
"""

from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

# The record shape and the shard reading are the operator CLI's (its redrive reads streams on AWS).
from referrals_cli.redrive import as_lambda_delivers, sequence_number, shard_records, stream_event

__all__ = ["as_lambda_delivers", "sequence_number", "shard_records", "stream_event"]

# botocore 1.44 sends dynamodbstreams calls to <account>.streams-ddb.<region>.amazonaws.com,
# which moto's in-process mock does not serve; the regional endpoint is the same API. A client
# with an explicit endpoint_url (the local server) needs nothing.
REGIONAL_ENDPOINT = Config(account_id_endpoint_mode="disabled")
BATCH_SIZE = 100  # records per invocation where no mapping's BatchSize is at hand


def table_stream_arn(dynamodb: Any, table: str) -> str:
    return str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])


@dataclass
class StreamReader:
    """Reads one stream, each call from where the last one stopped (per shard), starting at the
    oldest record kept (TRIM_HORIZON, as the stack's mappings start)."""

    streams: Any  # a dynamodbstreams client
    stream_arn: str
    _last_read: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number read

    def new_records(self) -> list[dict]:
        """Every record added since the last call, in Lambda's event shape, shard by shard."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        records: list[dict] = []
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self._last_read:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_read[shard_id]}
            else:
                position = {"ShardIteratorType": "TRIM_HORIZON"}
            for record in shard_records(self.streams, self.stream_arn, shard_id, position):
                records.append(record)
                self._last_read[shard_id] = record["dynamodb"]["SequenceNumber"]
        return records


def batches(records: list[dict], size: int = BATCH_SIZE) -> list[list[dict]]:
    return [records[start : start + size] for start in range(0, len(records), size)]
