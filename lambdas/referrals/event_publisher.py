"""The one module that publishes to SNS: an outbox message onto the reward topic (AWS at the edge).

Body: exact JSON (amounts keep their decimal digits, never via float). Attribute `event_type`
(String) carries the message type for subscription filters, as it always has.
"""

from referrals import contract as c
from referrals import exact_json
from referrals.aws_clients import client
from referrals.outbox_events import Message


def publish(topic_arn: str, message: Message) -> str:
    """Publishes the message; returns SNS's MessageId. Raises if SNS refused it."""
    response = client("sns").publish(
        TopicArn=topic_arn,
        Message=exact_json.dumps(message.body),
        MessageAttributes={c.EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": message.event_type}},
    )
    return str(response["MessageId"])
