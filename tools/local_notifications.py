"""An SQS queue subscribed to the deployed reward topic: what the event relay published, as a subscriber gets it.

The demo and tests/e2e create it beside the stack (the stack has no subscriber of its own) and
remove it when done. Its access policy lets only SNS deliver, and only from the reward topic
(moto does not evaluate it; AWS would). It is encrypted with SQS's own key (SSE-SQS): a queue
under a customer key would also need a key policy letting SNS use that key.

Raw message delivery is off, as for most SNS-to-SQS subscribers: each message is SNS's envelope
(Type, MessageId, TopicArn, Message, MessageAttributes, signature), so the output shows which
topic sent it and the `event_type` attribute that subscription filters match on, as SNS carries
them, besides the relay's message itself. (tests/lambdas reads with raw delivery on.)
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tools.local_stack import LocalDeployment

EVENT_TYPE_ATTRIBUTE = "event_type"
RECEIVE_WAIT_SECONDS = 1  # the last receive waits this long for a late message before the queue counts as empty


@dataclass(frozen=True)
class Notification:
    """One message as the queue received it."""

    topic_arn: str  # the envelope's TopicArn
    message_id: str  # SNS's MessageId
    event_type: str  # the envelope's MessageAttributes event_type (String)
    attribute_type: str  # its Type
    body: dict[str, Any]  # the relay's message, numbers with a fraction as exact Decimals


class Inbox:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs, self.queue_url = sqs, queue_url

    def receive_all(self) -> list[Notification]:
        """Every message the queue holds, in the order received; each deleted once read."""
        received: list[Notification] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=RECEIVE_WAIT_SECONDS
            ).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(_notification(json.loads(message["Body"])))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _notification(envelope: dict[str, Any]) -> Notification:
    attribute = envelope.get("MessageAttributes", {}).get(EVENT_TYPE_ATTRIBUTE, {})
    return Notification(
        topic_arn=envelope["TopicArn"],
        message_id=envelope["MessageId"],
        event_type=attribute.get("Value", ""),
        attribute_type=attribute.get("Type", ""),
        body=json.loads(envelope["Message"], parse_float=Decimal),
    )


@contextmanager
def subscribed_queue(deployment: LocalDeployment, topic_arn: str) -> Iterator[Inbox]:
    """A queue subscribed to the topic while the block lasts; unsubscribed and deleted after."""
    sqs, sns = deployment.client("sqs"), deployment.client("sns")
    queue_url = sqs.create_queue(
        QueueName=f"reward-notifications-inbox-{deployment.suffix}", Attributes={"SqsManagedSseEnabled": "true"}
    )["QueueUrl"]
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(_policy(queue_arn, topic_arn))})
        subscription = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        try:
            yield Inbox(sqs, queue_url)
        finally:
            sns.unsubscribe(SubscriptionArn=subscription)
    finally:
        sqs.delete_queue(QueueUrl=queue_url)


def _policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RewardTopicDelivers",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
