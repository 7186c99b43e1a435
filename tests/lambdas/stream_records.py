"""A table's stream as an event source mapping reads it: records from moto's dynamodbstreams,
wrapped as the event Lambda hands the relay.

moto stores the stream but cannot invoke a function without Docker, so the tests read the
records themselves (describe_stream, get_shard_iterator, get_records until a shard has no more)
and call the relay's handler in-process with the same event shape Lambda would deliver.
"""

from dataclasses import dataclass, field

import boto3
from botocore.config import Config

from tests.lambdas.fake_aws import REGION

BATCH_SIZE = 100  # records per invocation, as the event source mapping is assumed to batch them
# botocore sends stream calls to <account>.streams-ddb.<region>.amazonaws.com, which moto 5.2
# does not serve; the regional endpoint it does serve is the same API.
REGIONAL_ENDPOINT = Config(account_id_endpoint_mode="disabled")


@dataclass
class StreamReader:
    """Reads one table's stream, each call from where the last one stopped (per shard)."""

    table: str
    region: str = REGION
    _last_read: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number read

    @property
    def stream_arn(self) -> str:
        table = boto3.client("dynamodb", region_name=self.region).describe_table(TableName=self.table)["Table"]
        return str(table["LatestStreamArn"])

    def new_records(self) -> list[dict]:
        """Every record added since the last call, in Lambda's event shape."""
        streams = boto3.client("dynamodbstreams", region_name=self.region, config=REGIONAL_ENDPOINT)
        arn = self.stream_arn
        records: list[dict] = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_read[shard_id]}
                if shard_id in self._last_read
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                if not page["Records"]:
                    break
                records.extend(_as_lambda_delivers(record, arn) for record in page["Records"])
                self._last_read[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
        return records


def _as_lambda_delivers(record: dict, stream_arn: str) -> dict:
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
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def stream_event(records: list[dict]) -> dict:
    """One invocation's event: {"Records": [...]}, as the event source mapping sends it."""
    return {"Records": records}


def batches(records: list[dict], size: int = BATCH_SIZE) -> list[list[dict]]:
    return [records[start : start + size] for start in range(0, len(records), size)]
