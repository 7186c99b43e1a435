"""DynamoDB Streams entry point: publishes the committed changes that are events (the outbox relay).

Fed by event source mappings on the referral table's and the idempotency table's streams. Thin on
purpose: each stream record becomes a plain change (exact decimals), referrals.outbox_events
decides which messages it is (most changes are none; a flagged signup is two),
referrals.event_publisher publishes them in order.

Delivery is at least once. A record with a publish that fails is listed in `batchItemFailures` (its
sequence number), so Lambda retries from it; the records before it in the batch are done. A
record that keeps failing goes to the mapping's on-failure destination once the retries or the
record age run out. If every record of a batch fails, the handler raises instead (Powertools'
default), so the function's errors show it. A retried record, or one retried after it, is
published again with the same `eventId`, which consumers use to drop repeats: so is the first
message of a record whose second publish failed.

Environment: SNS_TOPIC_ARN, REGION, POWERTOOLS_*. No table names: a change's keys say its table.
"""

import base64
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from boto3.dynamodb.types import TypeDeserializer

from referrals import event_publisher
from referrals.outbox_events import Change, message_for

SERVICE = "event-relay"
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ReferralProgram")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


class _StreamDeserializer(TypeDeserializer):
    """boto3's deserializer, reading binary as Lambda's event JSON carries it (base64 text).

    Not Powertools' own: boto3's reads each number in DynamoDB's 38-digit context with Inexact
    and Rounded trapped, so a number is exact or the record fails; Powertools' cuts long
    numbers to 38 characters without a word.
    """

    def _deserialize_b(self, value: Any) -> Any:
        return super()._deserialize_b(base64.b64decode(value) if isinstance(value, str) else value)


_deserializer = _StreamDeserializer()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    # Every batch counts its records, so one that publishes nothing still has a metric to flush.
    metrics.add_metric(name="RecordsRead", unit=MetricUnit.Count, value=len(event.get("Records") or []))
    return dict(process_partial_response(event=event, record_handler=_relay, processor=processor, context=context))


def _relay(record: DynamoDBRecord) -> None:
    sequence_number = record.dynamodb.sequence_number if record.dynamodb else None
    try:
        # In order: a flagged signup is referral.rewarded, then reward.flagged. If a later publish
        # fails, the whole record is retried and the earlier messages go out again with their ids.
        for message in message_for(change_of(record.raw_event)):
            message_id = event_publisher.publish(os.environ["SNS_TOPIC_ARN"], message)
            metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)
            logger.info(
                "event published",
                extra={
                    "event_type": message.event_type,
                    "event_id": message.event_id,
                    "message_id": message_id,
                    "sequence_number": sequence_number,
                },
            )
    except Exception:
        metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=1)
        logger.exception("could not relay a change; Lambda retries it", extra={"sequence_number": sequence_number})
        raise


def change_of(record: dict) -> Change:
    """A stream record (as Lambda delivers it) as plain values."""
    stream = record["dynamodb"]
    # Without the old image, a completed run record modified again would look newly completed.
    if stream.get("StreamViewType") != STREAM_VIEW_TYPE:
        raise ValueError(f"the stream must carry {STREAM_VIEW_TYPE}, not {stream.get('StreamViewType')}")
    return Change(
        event_name=record["eventName"],
        keys=_plain(stream["Keys"]),
        old_image=_plain(stream["OldImage"]) if "OldImage" in stream else None,
        new_image=_plain(stream["NewImage"]) if "NewImage" in stream else None,
    )


def _plain(image: dict) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in image.items()}
