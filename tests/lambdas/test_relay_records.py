"""How the relay reads one stream record: every number exact, binary as Lambda's JSON carries it."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary

from event_relay.handler import change_of

# A legal DynamoDB number (38 significant digits at most) written with more than 38 characters.
TINY = "0.00000000000000000000000000000000000001"


def record(event_name: str, **images: dict) -> dict:
    return {
        "eventName": event_name,
        "dynamodb": {"Keys": {"idempotency_key": {"S": "k"}}, "StreamViewType": "NEW_AND_OLD_IMAGES", **images},
    }


def test_numbers_are_exact_and_binary_is_decoded() -> None:
    new = {"idempotency_key": {"S": "k"}, "tiny": {"N": TINY}, "amount": {"N": "12.5"}, "blob": {"B": "AAEC"}}
    change = change_of(record("INSERT", NewImage=new))
    assert change.new_image == {
        "idempotency_key": "k",
        "tiny": Decimal(TINY),
        "amount": Decimal("12.5"),
        "blob": Binary(b"\x00\x01\x02"),
    }
    assert (change.event_name, change.keys, change.old_image) == ("INSERT", {"idempotency_key": "k"}, None)


def test_a_number_beyond_dynamodbs_precision_fails_instead_of_rounding() -> None:
    with pytest.raises(ArithmeticError):
        change_of(record("INSERT", NewImage={"n": {"N": "1." + "1" * 40}}))


def test_a_removal_has_only_the_old_image() -> None:
    change = change_of(record("REMOVE", OldImage={"idempotency_key": {"S": "k"}}))
    assert (change.old_image, change.new_image) == ({"idempotency_key": "k"}, None)
