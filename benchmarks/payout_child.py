"""Child process of the payout benchmark: pays November's rewards once and prints what it cost.

`python -m benchmarks.payout_child REFERRAL_TABLE IDEMPOTENCY_TABLE BUCKET [--trace-memory]`
with AWS_ENDPOINT_URL at the emulator. A process of its own, so its memory is the payout's and
not the emulator's. The run is the one the tests drive (referrals.payout_run.run_payout with the
real DynamoDB store and a fixed clock); it prints one JSON object.
"""

import argparse
import json
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks.processes import memory
from referrals.payout_run import run_payout
from referrals.payout_store import DynamoPayoutStore, PayoutResources
from tests.lambdas.aws_calls import CallLog, recorded_calls
from tests.lambdas.test_payout_support import FakeClock, invocation, november_request, tallied_queries

MIB = 1024 * 1024


class PhaseCountingStore(DynamoPayoutStore):
    """The real store, counting the AWS calls made while claiming, settling clawbacks and crediting."""

    def __init__(self, resources: PayoutResources, log: CallLog) -> None:
        super().__init__(resources)
        self.log = log
        self.calls_while: Counter[str] = Counter()

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("claim", super().claim, *args, **kwargs)

    def settle(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("settle", super().settle, *args, **kwargs)

    def credit_referrers(self, *args: Any, **kwargs: Any) -> Any:
        return self._counted("credit", super().credit_referrers, *args, **kwargs)

    def _counted(self, phase: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        before = len(self.log.calls)
        try:
            return method(*args, **kwargs)
        finally:
            self.calls_while[phase] += len(self.log.calls) - before


def pay_once(resources: PayoutResources, trace_memory: bool) -> dict[str, Any]:
    clock = FakeClock()
    with recorded_calls() as log, tallied_queries() as reads:
        store = PhaseCountingStore(resources, log)  # creates the clients: a cold start's cost, not the run's
        rss_before_kib = memory().rss_kib
        if trace_memory:
            tracemalloc.start()
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = run_payout(november_request(clock), invocation(clock), store)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        traced_peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
        tracemalloc.stop()
    return {
        "status": str(outcome.status),
        "rewards_paid": outcome.summary.rewards_paid if outcome.summary else 0,
        "items_read": reads.scanned,
        "queries": len(reads.calls),
        "calls": dict(Counter(log.calls)),
        "calls_while_claiming": store.calls_while["claim"],
        "calls_while_settling": store.calls_while["settle"],
        "calls_while_crediting": store.calls_while["credit"],
        "clawbacks_settled": outcome.summary.clawbacks_settled if outcome.summary else 0,
        "wall_s": wall,
        "cpu_s": cpu,  # this process only: the payout code and botocore, not the emulator
        "rss_before_mib": rss_before_kib / 1024,
        "rss_peak_mib": memory().peak_kib / 1024,
        "tracemalloc_peak_mib": None if traced_peak is None else traced_peak / MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("referral_table", "idempotency_table", "reports_bucket"):
        parser.add_argument(name)
    parser.add_argument("--trace-memory", action="store_true")
    args = parser.parse_args()
    resources = PayoutResources(args.referral_table, args.idempotency_table, args.reports_bucket)
    print(json.dumps(pay_once(resources, args.trace_memory)))


if __name__ == "__main__":
    main()
