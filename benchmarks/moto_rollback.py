"""A cheaper rollback for moto's TransactWriteItems, so 10,000 rewards can be paid in minutes.

moto 5 deep-copies every table a transaction touches before applying it, to restore on
cancellation: with the 10,000-reward payout's 110,000 items that is ~7 s per claim transaction,
100 of them. This keeps moto's logic and outcome (all or nothing) but snapshots only the items
the transaction names: the table copy becomes the table itself, and on cancellation those items
are put back as they were. moto evaluates indexes from the items on every query, so restoring
the items restores the indexes too.
"""

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.dynamodb import models
from moto.dynamodb.models.dynamo_type import DynamoType

Key = tuple[str, DynamoType, DynamoType | None]  # table name, hash value, range value
_deepcopy = copy.deepcopy  # moto calls copy.deepcopy through the module, which the patch replaces


@contextmanager
def item_level_rollback() -> Iterator[None]:
    transact_write_items = models.DynamoDBBackend.transact_write_items

    def snapshot_items(backend: models.DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = {key: _deepcopy(_item(backend, key)) for key in _keys(backend, transact_items)}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(models.copy, "deepcopy", _tables_by_reference)
            try:
                transact_write_items(backend, transact_items)
            except Exception:
                for key, item in saved.items():
                    _restore(backend, key, item)
                raise

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.DynamoDBBackend, "transact_write_items", snapshot_items)
        yield


def _tables_by_reference(value: Any, memo: dict | None = None) -> Any:
    return value if isinstance(value, models.Table) else _deepcopy(value, memo)


def _keys(backend: models.DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Key]:
    keys = []
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = backend.tables.get(operation.get("TableName", ""))
        if table is None:
            continue  # moto reports the missing table itself
        attributes = operation.get("Key") or operation.get("Item") or {}
        if table.hash_key_attr not in attributes or (table.range_key_attr and table.range_key_attr not in attributes):
            continue  # moto refuses such an operation before it writes anything
        range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
        keys.append((table.name, DynamoType(attributes[table.hash_key_attr]), range_value))
    return keys


def _item(backend: models.DynamoDBBackend, key: Key) -> Any:
    name, hash_value, range_value = key
    return backend.tables[name].get_item(hash_value, range_value)


def _restore(backend: models.DynamoDBBackend, key: Key, item: Any) -> None:
    name, hash_value, range_value = key
    table = backend.tables[name]
    if item is None:
        table.delete_item(hash_value, range_value)
    elif range_value is None:
        table.items[hash_value] = item
    else:
        table.items[hash_value][range_value] = item
