"""benchmarks/conflict_model.py applies DynamoDB's transaction-conflict rules in front of moto.

Each rule (numbered as in the module's docstring) is checked on a small table, with calls made
by tasks of benchmarks/virtual_time.py so that they overlap in simulated time.
"""

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from benchmarks.conflict_model import ConflictModel, Timing
from benchmarks.virtual_time import VirtualTime

TABLE = "conflict-model-test"
T, W = 0.020, 0.005


def _key(user: str) -> dict:
    return {"user_id": {"S": user}, "referral_timestamp": {"N": "0"}}


def _count_update(user: str, expected: int | None = None) -> dict:
    update: dict[str, Any] = {
        "TableName": TABLE,
        "Key": _key(user),
        "UpdateExpression": "ADD n :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    if expected is not None:
        update["ConditionExpression"] = "n = :expected"
        update["ExpressionAttributeValues"][":expected"] = {"N": str(expected)}
    return update


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, ConflictModel, VirtualTime]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        backend = boto3.client("dynamodb", region_name="us-east-1")
        backend.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "referral_timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "referral_timestamp", "AttributeType": "N"},
            ],
        )
        for user in ("a", "b"):
            backend.put_item(TableName=TABLE, Item=_key(user) | {"n": {"N": "0"}})
        clock = VirtualTime()
        model = ConflictModel(clock, Timing(T, W), backend, TABLE, ("user_id", "referral_timestamp"))
        client = boto3.client("dynamodb", region_name="us-east-1")  # the code's client: answered by the model
        with model.installed(client):
            yield client, model, clock


def _stored(model: ConflictModel, user: str) -> int:
    """As moto holds it (read past the model, so it is not one of the calls it counts)."""
    item = model.backend.get_item(TableName=TABLE, Key=_key(user), ConsistentRead=True)["Item"]
    return int(item["n"]["N"])


def _attempt(call: Any, **request: Any) -> dict:
    try:
        return call(**request)
    except ClientError as error:
        return error.response


def test_a_transaction_holds_its_items_for_t_and_answers_then(world) -> None:
    client, model, clock = world
    client.transact_write_items(TransactItems=[{"Update": _count_update("a", expected=0)}])
    assert clock.now == pytest.approx(T)
    client.get_item(TableName=TABLE, Key=_key("a"))
    assert clock.now == pytest.approx(T + W)  # rule 6: every other call takes W
    assert [(c.operation, c.at, c.outcome) for c in model.calls] == [
        ("TransactWriteItems", 0.0, "ok"),
        ("GetItem", pytest.approx(T), "ok"),
    ]


def test_a_plain_write_of_a_held_item_is_refused_and_writes_nothing(world) -> None:
    client, model, clock = world
    answers = clock.run(
        [
            (0.0, lambda: client.transact_write_items(TransactItems=[{"Update": _count_update("a", expected=0)}])),
            (T / 2, lambda: _attempt(client.update_item, **_count_update("a"))),  # rule 2
            (T, lambda: _attempt(client.update_item, **_count_update("a"))),  # the hold ended at T
        ]
    )
    refused, after = answers[1], answers[2]
    assert refused["Error"]["Code"] == "TransactionConflictException"
    assert "Error" not in after
    assert _stored(model, "a") == 2  # the transaction's increment and the one after the hold
    assert [c.outcome for c in model.calls] == ["ok", "conflict", "ok"]


def test_the_refusal_is_the_modelled_exception_botocore_does_not_retry(world) -> None:
    client, model, clock = world

    def write_during_commit() -> None:
        with pytest.raises(client.exceptions.TransactionConflictException):
            client.put_item(TableName=TABLE, Item=_key("a") | {"n": {"N": "9"}})

    clock.run(
        [
            (0.0, lambda: client.transact_write_items(TransactItems=[{"Update": _count_update("a", expected=0)}])),
            (W, write_during_commit),
        ]
    )
    assert _stored(model, "a") == 1


def test_a_transaction_naming_a_held_item_is_cancelled_with_transaction_conflict(world) -> None:
    client, model, clock = world
    both = [{"Update": _count_update("b")}, {"Update": _count_update("a", expected=1)}]
    answers = clock.run(
        [
            (0.0, lambda: client.transact_write_items(TransactItems=[{"Update": _count_update("a", expected=0)}])),
            (W, lambda: _attempt(client.transact_write_items, TransactItems=both)),  # rule 3
        ]
    )
    cancelled = answers[1]
    assert cancelled["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert (_stored(model, "a"), _stored(model, "b")) == (1, 0)  # nothing of the cancelled one


def test_a_transaction_whose_condition_fails_is_cancelled_and_holds_nothing(world) -> None:
    client, model, clock = world
    answers = clock.run(
        [
            (0.0, lambda: _attempt(client.transact_write_items, TransactItems=[{"Update": _count_update("a", 5)}])),
            (W, lambda: _attempt(client.update_item, **_count_update("a"))),  # right after: no hold (rule 4)
        ]
    )
    assert [reason["Code"] for reason in answers[0]["CancellationReasons"]] == ["ConditionalCheckFailed"]
    assert "Error" not in answers[1]
    assert [c.outcome for c in model.calls] == ["TransactionCanceledException", "ok"]


def test_a_read_of_a_held_item_answers_the_last_committed_version(world) -> None:
    client, _, clock = world

    def read() -> int:
        return int(client.get_item(TableName=TABLE, Key=_key("a"), ConsistentRead=True)["Item"]["n"]["N"])

    answers = clock.run(
        [
            (0.0, lambda: client.transact_write_items(TransactItems=[{"Update": _count_update("a", expected=0)}])),
            (W, read),  # rule 5: never refused; the transaction is not committed yet
            (T + W, read),
        ]
    )
    assert answers[1:] == [0, 1]


def test_times_can_vary_per_call_repeatably() -> None:
    timing = Timing(T, W, spread=0.5)
    draws = [timing.draw(random.Random(7), T) for _ in range(2)]  # noqa: S311 - a repeatable draw
    assert draws[0] == draws[1]
    assert T * 0.5 <= draws[0] <= T * 1.5
    assert Timing(T, W).draw(random.Random(7), T) == T  # noqa: S311 - a repeatable draw
