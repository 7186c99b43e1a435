"""benchmarks/moto_rollback.py keeps moto's all-or-nothing TransactWriteItems, only cheaper."""

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from benchmarks.moto_rollback import item_level_rollback

TABLE = "rollback-test"


def _key(user: str) -> dict:
    return {"user_id": {"S": user}, "referral_timestamp": {"N": "0"}}


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws(), item_level_rollback():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
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
        client.put_item(TableName=TABLE, Item=_key("existing") | {"count": {"N": "1"}})
        yield client


def _transaction(last_condition: str) -> list[dict]:
    """Updates an existing item, creates a new one, then checks a condition on the existing one."""
    return [
        {
            "Update": {
                "TableName": TABLE,
                "Key": _key("existing"),
                "UpdateExpression": "SET #c = #c + :one",
                "ExpressionAttributeNames": {"#c": "count"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": TABLE, "Item": _key("new") | {"count": {"N": "7"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": _key("other"), "ConditionExpression": last_condition}},
    ]


def _items(client) -> dict[str, str]:
    items = client.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {item["user_id"]["S"]: item["count"]["N"] for item in items}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb) -> None:
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=_transaction("attribute_exists(user_id)"))

    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _items(dynamodb) == {"existing": "1"}  # the update undone, the new item gone


def test_a_transaction_whose_conditions_hold_writes_everything(dynamodb) -> None:
    dynamodb.transact_write_items(TransactItems=_transaction("attribute_not_exists(user_id)"))

    assert _items(dynamodb) == {"existing": "2", "new": "7"}
