"""The transactional outbox's reader: each table's stream feeds the event relay function.

Every committed change reaches the relay at least once; the relay publishes the ones that are
events (lambdas/event_relay). A record that keeps failing is retried in ever smaller batches
(bisect), then recorded in the relay's DLQ with its shard and sequence numbers, well within the
stream's 24-hour retention, so it can be redriven from the stream (docs/operations.md: "Redriving the relay's DLQ").
"""

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingDestinationConfig,
    LambdaEventSourceMappingDestinationConfigOnFailure,
)
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

BATCH_SIZE = 100
BATCHING_WINDOW_SECONDS = 1  # a notification waits at most about a second for its batch
RETRY_ATTEMPTS = 10  # then the batch's position goes to the DLQ and the shard moves on
# Records older than this go to the DLQ: 23 of the stream's 24 hours are left to redrive them.
MAX_RECORD_AGE_SECONDS = 3600


class StreamRelay(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        tables: Sequence[DynamodbTable],
        relay: LambdaFunction,
        dead_letter_queue: SqsQueue,
    ) -> None:
        super().__init__(scope, id_)
        self.mappings = [
            LambdaEventSourceMapping(
                self,
                f"stream-{index}",
                function_name=relay.arn,
                event_source_arn=table.stream_arn,
                # From the oldest record kept: nothing committed before the mapping existed is skipped.
                starting_position="TRIM_HORIZON",
                batch_size=BATCH_SIZE,
                maximum_batching_window_in_seconds=BATCHING_WINDOW_SECONDS,
                function_response_types=["ReportBatchItemFailures"],
                bisect_batch_on_function_error=True,
                maximum_retry_attempts=RETRY_ATTEMPTS,
                maximum_record_age_in_seconds=MAX_RECORD_AGE_SECONDS,
                destination_config=LambdaEventSourceMappingDestinationConfig(
                    on_failure=LambdaEventSourceMappingDestinationConfigOnFailure(destination_arn=dead_letter_queue.arn)
                ),
            )
            for index, table in enumerate(tables)
        ]
