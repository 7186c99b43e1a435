"""DynamoDB's transaction conflicts and latencies, in front of moto (which has neither).

moto applies one request at a time and never reports a conflict. Real DynamoDB holds the items
of a TransactWriteItems while it commits them, and refuses whatever else touches them meanwhile
(developer guide, "Transaction conflict handling in DynamoDB"). This module is a botocore
`before-call` hook on the client the signup code uses: it answers every call on the table itself,
after forwarding it to moto on a client of its own, and applies these rules:

1. A transaction holds every item it names for T seconds from its arrival, if its conditions
   pass. Its conditions are checked, and its writes applied in moto, on arrival; until it ends,
   a GetItem of a held item answers the item as it was before (the last committed version).
   Nobody can write or check a held item meanwhile (rules 2 and 3), so checking and applying
   on arrival is indistinguishable from doing it at the end, except through a read, which the
   held image answers. The caller gets its answer T after arrival.
2. A PutItem, UpdateItem or DeleteItem of a held item is refused: TransactionConflictException
   (botocore does not retry it). Nothing is written.
3. A transaction naming a held item is cancelled: TransactionCanceledException, reason
   TransactionConflict for each held item and None for the others. It holds nothing.
4. A transaction whose conditions fail is cancelled as moto cancels it (ConditionalCheckFailed
   with the item when asked) and holds nothing.
5. A GetItem, consistent or not, never conflicts. Query and Scan pass through (the signup path
   does not use them).
6. Every call other than a transaction that holds its items answers after W seconds; a call
   takes effect when it arrives (plain writes of one item are serialised, never refused).

Not modelled: an item's or partition's throughput (about 1,000 WCU/s per item, 2 WCU per KB
transactional: one referrer's counter would throttle near 500 transactions/s, far above the
workloads here), throttling and botocore's retries of it, latency that varies from call to call
(network jitter, a slow storage node), clock skew between Lambda containers, the time a Lambda's
own code takes, and the prepare phase in which a transaction that will fail its conditions
briefly holds items. Time is simulated (virtual_time.py).
"""

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from benchmarks.virtual_time import VirtualTime

WRITES = ("PutItem", "UpdateItem", "DeleteItem")
TRANSACTION = "TransactWriteItems"
GET = "GetItem"
OK, REFUSED = 200, 400
ItemKey = tuple[str, str]  # table, the key attributes as canonical JSON


@dataclass(frozen=True)
class Timing:
    transaction_s: float  # T: how long a transaction that passes its conditions holds its items
    plain_s: float = 0.005  # W: every other call
    spread: float = 0.0  # each call's time drawn uniformly within +-spread of its T or W (0: fixed)
    seed: int = 0

    def draw(self, rng: random.Random, seconds: float) -> float:
        return seconds * (1 + rng.uniform(-self.spread, self.spread)) if self.spread else seconds


@dataclass(frozen=True)
class Call:
    operation: str
    at: float  # arrival, simulated seconds
    outcome: str  # "ok", "conflict" (rules 2, 3), or the error code moto answered


@dataclass
class Holds:
    """Which items in-flight transactions hold, until when, and what reads see meanwhile."""

    _held: dict[ItemKey, tuple[float, dict | None]] = field(default_factory=dict)

    def held(self, key: ItemKey, now: float) -> bool:
        hold = self._held.get(key)
        return hold is not None and now < hold[0]

    def hold(self, images: dict[ItemKey, dict | None], until: float) -> None:
        for key, image in images.items():
            self._held[key] = (until, image)

    def committed_image(self, key: ItemKey) -> dict | None:
        """The version a read sees while the item is held: as it was before the transaction."""
        return self._held[key][1]


@dataclass
class ConflictModel:
    clock: VirtualTime
    timing: Timing
    backend: Any  # a client of moto's without this hook: where calls take effect
    table: str
    key_names: tuple[str, ...]
    holds: Holds = field(default_factory=Holds)
    calls: list[Call] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    @contextmanager
    def installed(self, client: Any) -> Iterator["ConflictModel"]:
        # Last on the generic event: a call log registered before it still sees every call.
        client.meta.events.register_last("before-call", self._answer, unique_id=f"conflict-model-{id(self)}")
        try:
            yield self
        finally:
            client.meta.events.unregister("before-call", unique_id=f"conflict-model-{id(self)}")

    def count(self, operation: str | None = None, outcome: str | None = None) -> int:
        return sum(
            1
            for call in self.calls
            if (operation is None or call.operation == operation) and (outcome is None or call.outcome == outcome)
        )

    def _answer(self, model: Any, params: dict, **_: Any) -> tuple[Any, dict] | None:
        if model.service_model.endpoint_prefix != "dynamodb":
            return None
        request = json.loads(params["body"] or b"{}")
        if request.get("TableName", self.table) != self.table:
            return None
        operation = model.name
        if operation == TRANSACTION:
            status, answer, latency = self._transaction(request)
        elif operation in WRITES and self.holds.held(self._key(request), self.clock.now):
            status, answer, latency = _refusal("TransactionConflictException", "Transaction is ongoing for the item")
            latency = self._plain()
        elif operation == GET and self.holds.held(self._key(request), self.clock.now):
            image = self.holds.committed_image(self._key(request))
            status, answer, latency = OK, ({} if image is None else {"Item": image}), self._plain()
        else:
            status, answer = self._forward(operation, request)
            latency = self._plain()
        self.calls.append(Call(operation, self.clock.now, _outcome(status, answer)))
        self.clock.sleep(latency)
        return SimpleNamespace(status_code=status, headers={}), answer

    def _transaction(self, request: dict) -> tuple[int, dict, float]:
        keys = [self._key(_action_body(action)) for action in request["TransactItems"]]
        now = self.clock.now
        if any(self.holds.held(key, now) for key in keys):
            reasons = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                if self.holds.held(key, now)
                else {"Code": "None"}
                for key in keys
            ]
            codes = ", ".join(reason["Code"] for reason in reasons)
            status, answer, _ = _refusal(
                "TransactionCanceledException",
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            )
            return status, answer | {"CancellationReasons": reasons}, self._plain()
        before = {key: self._stored(key) for key in keys}
        status, answer = self._forward(TRANSACTION, request)
        if status != OK:
            return status, answer, self._plain()
        held = self.timing.draw(self.rng, self.timing.transaction_s)
        self.holds.hold(before, until=now + held)
        return status, answer, held

    def _plain(self) -> float:
        return self.timing.draw(self.rng, self.timing.plain_s)

    def _forward(self, operation: str, request: dict) -> tuple[int, dict]:
        method = getattr(self.backend, _snake(operation))
        try:
            return OK, method(**request)
        except self.backend.exceptions.ClientError as error:
            return REFUSED, error.response

    def _stored(self, key: ItemKey) -> dict | None:
        item = self.backend.get_item(TableName=key[0], Key=json.loads(key[1]), ConsistentRead=True)
        return item.get("Item")

    def _key(self, body: dict) -> ItemKey:
        attributes = body.get("Key") or body["Item"]
        key = {name: attributes[name] for name in self.key_names}
        return body.get("TableName", self.table), json.dumps(key, sort_keys=True)


def _action_body(action: dict) -> dict:
    (body,) = action.values()  # {"Put": {...}}, {"Update": {...}}, {"Delete": {...}} or {"ConditionCheck": {...}}
    return body


def _refusal(code: str, message: str) -> tuple[int, dict, float]:
    return REFUSED, {"Error": {"Code": code, "Message": message}, "Message": message}, 0.0


def _outcome(status: int, answer: dict) -> str:
    if status == OK:
        return "ok"
    code = answer.get("Error", {}).get("Code", "")
    if code == "TransactionConflictException" or any(
        reason.get("Code") == "TransactionConflict" for reason in answer.get("CancellationReasons") or []
    ):
        return "conflict"
    return str(code)


def _snake(operation: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in operation).lstrip("_")
