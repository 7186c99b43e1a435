"""A table's stream as an event source mapping reads it, for the handler tests on moto in-process.

The reader and the event shape are tools/local_streams.py's (shared with the demo and
tests/e2e); this only points the reader at one of the fixture's tables, with the default boto3
session that moto's mock answers.
"""

import boto3

from tests.lambdas.fake_aws import REGION
from tools import local_streams
from tools.local_streams import BATCH_SIZE, REGIONAL_ENDPOINT, batches, stream_event

__all__ = ["BATCH_SIZE", "REGIONAL_ENDPOINT", "StreamReader", "batches", "stream_event"]


class StreamReader(local_streams.StreamReader):
    """Reads one of the fixture's tables' stream, each call from where the last one stopped."""

    def __init__(self, table: str, region: str = REGION) -> None:
        dynamodb = boto3.client("dynamodb", region_name=region)
        streams = boto3.client("dynamodbstreams", region_name=region, config=REGIONAL_ENDPOINT)
        super().__init__(streams, local_streams.table_stream_arn(dynamodb, table))
        self.table, self.region = table, region
