"""Section 4: what one monthly payout reads, writes, takes and holds, for N payable rewards.

The table holds N payable rewards and 10 N paid rewards of earlier months (the history the
sparse payable index must not read), spread over N/10 referrers; one more run of the smallest N
has 2 % of them clawed back (open clawbacks of referrers paid this month, netted by the run).
moto runs as a server in this process (with benchmarks/moto_rollback.py, else 10,000 rewards
take hours) and the payout in a child process (benchmarks/payout_child.py), so the child's time
and memory are the payout's own.
It pays twice from the same seeded state: once plainly for time, calls and items, once under
tracemalloc (which slows allocation) for the peak of Python allocations.
"""

import copy
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb import dynamodb_backends
from moto.server import ThreadedMotoServer

from benchmarks.moto_rollback import item_level_rollback
from benchmarks.paths import PROJECT_ROOT, PYTHONPATH
from benchmarks.processes import run_fresh
from tests.lambdas import test_payout_support
from tests.lambdas.fake_aws import REGION, _create_idempotency_table, _create_referral_table
from tests.lambdas.test_payout_support import NOVEMBER_MS, SeededClawback, expected_totals, november_rewards, seed

HISTORY_PER_PENDING = 10
REWARDS_PER_REFERRER = 10
CLAWED_BACK_PERCENT = 2  # a refund rate's order; the read goal holds while under 5 %
CLAWBACK_AMOUNT = Decimal("1.00")
DAY_MS = 86_400_000
HISTORY_START_MS = NOVEMBER_MS - 300 * DAY_MS  # ten earlier months, as in tests/lambdas/test_payout_reads.py
DYNAMODB_WRITES = ("dynamodb:TransactWriteItems", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}


@dataclass(frozen=True)
class PayoutFigures:
    pending: int
    history: int
    referrers: int
    seed_s: float
    run: dict[str, Any]  # payout_child's figures, plain run
    traced: dict[str, Any]  # the same under tracemalloc
    clawbacks: int = 0  # open clawbacks seeded, all of referrers this payout pays

    @property
    def settlement_writes(self) -> int:
        """Transactions that settled (claimed) clawbacks: their own chunks of up to 100."""
        return int(self.run["calls_while_settling"])

    @property
    def items_read_per_reward(self) -> float:
        return self.run["items_read"] / self.pending

    @property
    def claim_writes_per_1000(self) -> float:
        return _per_1000(self.run["calls_while_claiming"], self.pending)

    @property
    def dynamodb_writes_per_1000(self) -> float:
        """Claims, referrer credits and run-record updates: every DynamoDB write call."""
        return _per_1000(sum(self.run["calls"].get(name, 0) for name in DYNAMODB_WRITES), self.pending)


def measure_payouts(sizes: tuple[int, ...]) -> list[PayoutFigures]:
    with _emulator() as endpoint:
        plain = [_measure(endpoint, size) for size in sizes]
        smallest = min(sizes)
        return [*plain, _measure(endpoint, smallest, clawbacks=smallest * CLAWED_BACK_PERCENT // 100)]


@contextmanager
def _emulator() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request would bury the table
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with item_level_rollback(), pytest.MonkeyPatch.context() as patch:
            settings = FAKE_CREDENTIALS | {"AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}
            for name, value in settings.items():
                patch.setenv(name, value)
            yield endpoint
    finally:
        server.stop()


def _measure(endpoint: str, pending: int, clawbacks: int = 0) -> PayoutFigures:
    name = f"{pending}-clawed-back" if clawbacks else str(pending)
    tables = (f"referral-tracking-bench-{name}", f"payout-idempotency-bench-{name}")
    referrers = math.ceil(pending / REWARDS_PER_REFERRER)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    started = time.perf_counter()
    arguments = _seed(tables, f"payout-reports-bench-{name}", pending, referrers, clawbacks, backend)
    seed_s = time.perf_counter() - started
    seeded = {table: copy.deepcopy(backend.tables[table]) for table in tables}
    run = _pay(endpoint, arguments)
    backend.tables.update(seeded)  # the same unpaid month again, for the traced run
    traced = _pay(endpoint, [*arguments, "--trace-memory"])
    return PayoutFigures(pending, pending * HISTORY_PER_PENDING, referrers, seed_s, run, traced, clawbacks)


def _seed(  # noqa: PLR0917 - one call site, each argument named there
    tables: tuple[str, str], bucket: str, pending: int, referrers: int, clawbacks: int, backend: Any
) -> list[str]:
    referral_table, idempotency_table = tables
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    _create_referral_table(dynamodb, referral_table)
    _create_idempotency_table(dynamodb, idempotency_table)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    rewards = november_rewards(pending, referrers)
    history = november_rewards(pending * HISTORY_PER_PENDING, referrers, start_ms=HISTORY_START_MS)
    # Reversals of earlier months' rewards, one per referrer paid this month (each reaches its total).
    owed = [
        SeededClawback(f"{old.user_id}#clawback", old.timestamp_ms, old.referrer_id, CLAWBACK_AMOUNT, NOVEMBER_MS)
        for old in history[:clawbacks]
    ]
    with pytest.MonkeyPatch.context() as patch:
        # The tests' seed() writes its batches with a boto3 client; these go straight to moto's
        # backend instead (same items, same checks): 17 s instead of 70 s for 110,000 items.
        patch.setattr(test_payout_support, "boto3", SimpleNamespace(client=lambda *_, **__: _BackendWriter(backend)))
        seed(referral_table, paid=history, profiles=sorted(expected_totals(rewards)), payable=rewards, clawbacks=owed)
    return [referral_table, idempotency_table, bucket]


class _BackendWriter:
    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def batch_write_item(self, RequestItems: dict[str, list[dict]]) -> dict:
        for table, requests in RequestItems.items():
            for request in requests:
                self._backend.put_item(table, request["PutRequest"]["Item"])
        return {"UnprocessedItems": {}}


def _pay(endpoint: str, arguments: list[str]) -> dict[str, Any]:
    env = os.environ | {
        "REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONPATH": PYTHONPATH,
    }
    run = run_fresh([sys.executable, "-m", "benchmarks.payout_child", *arguments], PROJECT_ROOT, env)
    if run.returncode != 0:
        raise RuntimeError(f"payout failed with status {run.returncode}:\n{run.stderr[-2000:]}")
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    if figures["status"] != "completed":
        raise RuntimeError(f"payout did not complete: {figures['status']}")
    return figures


def _per_1000(count: int, rewards: int) -> float:
    return count * 1000 / rewards
