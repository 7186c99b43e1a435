"""Runs the event relay on what the tables' streams hold, as Lambda's event source mappings would.

The fixture `relay` is registered in conftest.py: one reader per table stream (referral table,
idempotency table), each carrying on from where it last stopped, so a test relays the changes
its own steps committed. The relay's calls are recorded for the event-relay function, whichever
test module runs it (aws_calls.acting_as).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from event_relay import handler as event_relay
from referrals import exact_json
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws, published_messages
from tests.lambdas.reward_api import LambdaContext
from tests.lambdas.stream_records import StreamReader, batches, stream_event

FUNCTION = "event-relay"


CONTEXT = LambdaContext(
    function_name="event-relay-test",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:event-relay-test",
    aws_request_id="relay-request-1",
)


@dataclass(frozen=True)
class Published:
    text: str  # the message body exactly as published
    event_type: str  # the event_type message attribute
    attribute_type: str  # its DataType

    @property
    def body(self) -> dict[str, Any]:
        return dict(exact_json.loads(self.text))


def invoke(event: dict) -> dict:
    """The relay's handler on one stream event; its calls count as the event-relay function's."""
    with acting_as(FUNCTION):
        return event_relay.handler(event, CONTEXT)


def published(aws: FakeAws) -> list[Published]:
    """What reached the topic since the last look (drained from the probe queue)."""
    return [
        Published(
            text=message["Body"],
            event_type=message["MessageAttributes"]["event_type"]["StringValue"],
            attribute_type=message["MessageAttributes"]["event_type"]["DataType"],
        )
        for message in published_messages(aws)
    ]


@dataclass
class Relay:
    aws: FakeAws
    readers: list[StreamReader]
    responses: list[dict] = field(default_factory=list)

    def events(self) -> list[dict]:
        """The stream events that the changes committed since the last read make, per table."""
        return [stream_event(batch) for reader in self.readers for batch in batches(reader.new_records())]

    def deliver(self) -> list[dict]:
        """Relays every change committed since the last delivery; returns the handler's responses."""
        responses = [invoke(event) for event in self.events()]
        self.responses.extend(responses)
        return responses

    def messages(self) -> list[Published]:
        """Delivers, then returns what reached the topic since the last look."""
        self.deliver()
        return published(self.aws)

    def bodies(self) -> list[dict[str, Any]]:
        return [message.body for message in self.messages()]


def relay_for(aws: FakeAws, *tables: str) -> Relay:
    """A relay on the given tables' streams (default: both tables of the fixture)."""
    names = tables or (aws.referral_table, aws.idempotency_table)
    return Relay(aws, [StreamReader(name, aws.region) for name in names])


@pytest.fixture
def relay(aws: FakeAws) -> Iterator[Relay]:
    yield relay_for(aws)
