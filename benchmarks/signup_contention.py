"""Section 3, under DynamoDB's rules: signups for one referrer through the conflict model.

Each trial is a fresh emulated table with one enrolled referrer, and real `Signups` on the real
DynamoDB store, whose client answers through conflict_model.py in simulated time
(virtual_time.py). Two workloads: 20 signups arriving at the same moment, and 40 per second for
5 s (200 arrival times drawn uniformly over the 5 s, as a Poisson stream of that rate places
them). A trial's seed fixes the arrival times and every jitter the code draws, so a trial gives
the same figures on every run and machine (for the same code and moto).

After each trial the table is checked: the referrer's count is the number of signups that
succeeded, the numbers answered and stored are exactly 1..n, each amount is its number's tier,
and the total is their sum. A trial that breaks any of them raises, and the benchmark exits 1.
"""

import functools
import random
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3

from benchmarks.conflict_model import TRANSACTION, ConflictModel, Timing
from benchmarks.emulated_aws import emulated_aws
from benchmarks.moto_rollback import item_level_rollback
from benchmarks.virtual_time import VirtualTime
from referrals import aws_clients
from referrals import contract as c
from referrals.referral_store import DynamoReferralStore
from referrals.signup import Rewarded, Signups, TooBusy
from referrals.tiers import Tiers
from referrals.validation import SignupRequest

REFERRER = "popular"
EPOCH = datetime(2026, 12, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Workload:
    name: str
    signups: int
    spread_s: float  # arrivals drawn uniformly over this long (0: all at once)


BURST = Workload("20 at once", 20, 0.0)
STREAM = Workload("40/s for 5 s", 200, 5.0)


@dataclass(frozen=True)
class ModelTrial:
    signups: int
    succeeded: int
    busy: int  # answered 503
    calls: int
    commits: int  # TransactWriteItems calls
    conflicts: int  # calls refused or cancelled by a transaction conflict
    latencies_ms: list[float]  # arrival to answer, per successful signup


@dataclass(frozen=True)
class ModelCell:
    """One workload at one timing, over several trials (seeds 0, 1, ...)."""

    workload: str
    transaction_ms: int
    spread: float  # per-call variation of the model's times (0: fixed)
    trials: list[ModelTrial] = field(default_factory=list)

    @property
    def signups(self) -> int:
        return sum(t.signups for t in self.trials)

    @property
    def succeeded(self) -> int:
        return sum(t.succeeded for t in self.trials)

    @property
    def busy(self) -> int:
        return sum(t.busy for t in self.trials)

    @property
    def calls_per_success(self) -> float:
        return sum(t.calls for t in self.trials) / self.succeeded if self.succeeded else float("inf")

    @property
    def conflicts(self) -> int:
        return sum(t.conflicts for t in self.trials)

    def latency_ms(self, fraction: float) -> float:
        latencies = sorted(ms for t in self.trials for ms in t.latencies_ms)
        if not latencies:
            return float("nan")
        if fraction == 0.5:
            return statistics.median(latencies)
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]


def measure_contention(cells: list[tuple[Workload, Timing, int]], tiers: Tiers) -> list[ModelCell]:
    """Each (workload, timing, trials) as a cell of the table."""
    return [
        ModelCell(
            workload.name,
            round(timing.transaction_s * 1000),
            timing.spread,
            [run_trial(workload, replace(timing, seed=seed), tiers) for seed in range(trials)],
        )
        for workload, timing, trials in cells
    ]


def run_trial(workload: Workload, timing: Timing, tiers: Tiers) -> ModelTrial:
    seed = timing.seed
    rng = random.Random(seed)  # noqa: S311 - a repeatable trial, not cryptography
    arrivals = sorted(rng.uniform(0, workload.spread_s) for _ in range(workload.signups))
    random.seed(seed)  # the jitter the signup queue draws
    with emulated_aws() as aws, item_level_rollback():
        # The referrer enrols before the model is installed: its calls draw none of the trial's
        # call times, so a trial does not depend on how an enrolment is written.
        DynamoReferralStore(aws.referral_table).create_profile(REFERRER, None, None)
        with _simulated(timing, aws.referral_table) as (clock, model):
            store = DynamoReferralStore(aws.referral_table, pause=clock.sleep)
            signups = Signups(store, tiers, now=lambda: EPOCH + timedelta(seconds=clock.now), pause=clock.sleep)

            def sign_up(user_id: str) -> tuple[object, float]:
                arrived = clock.now
                outcome = signups.sign_up(SignupRequest(user_id, REFERRER, None))
                return outcome, (clock.now - arrived) * 1000

            answers = clock.run([(at, functools.partial(sign_up, f"user-{n}")) for n, at in enumerate(arrivals)])
            check_exact(aws.referral_table, [outcome for outcome, _ in answers], tiers)
    return ModelTrial(
        signups=workload.signups,
        succeeded=sum(isinstance(outcome, Rewarded) for outcome, _ in answers),
        busy=sum(isinstance(outcome, TooBusy) for outcome, _ in answers),
        calls=len(model.calls),
        commits=model.count(TRANSACTION),
        conflicts=model.count(outcome="conflict"),
        latencies_ms=[ms for outcome, ms in answers if isinstance(outcome, Rewarded)],
    )


@contextmanager
def _simulated(timing: Timing, table: str) -> Iterator[tuple[VirtualTime, ConflictModel]]:
    clock = VirtualTime()
    region = aws_clients.client("dynamodb").meta.region_name
    backend = boto3.client("dynamodb", region_name=region)  # no hook: where calls take effect
    rng = random.Random(timing.seed)  # noqa: S311 - a repeatable trial, not cryptography
    model = ConflictModel(clock, timing, backend, table, (c.USER_ID, c.REFERRAL_TIMESTAMP), rng=rng)
    with model.installed(aws_clients.client("dynamodb")):
        yield clock, model


def check_exact(table: str, outcomes: list[object], tiers: Tiers) -> None:
    """Counts, numbers 1..n and tiers exact, in the answers and in the table; raises if not."""
    unexpected = [o for o in outcomes if not isinstance(o, Rewarded | TooBusy)]
    if unexpected:
        raise AssertionError(f"unexpected outcomes under contention: {unexpected[:3]}")
    numbers = sorted(o.referral.referral_number for o in outcomes if isinstance(o, Rewarded))
    n = len(numbers)
    if numbers != list(range(1, n + 1)):
        raise AssertionError(f"answered numbers are not 1..{n}: {numbers}")
    dynamodb = boto3.client("dynamodb", region_name=aws_clients.client("dynamodb").meta.region_name)
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        IndexName=c.REFERRER_INDEX,
        KeyConditionExpression=f"{c.REFERRER_ID} = :referrer",
        ExpressionAttributeValues={":referrer": {"S": REFERRER}},
    )
    stored = sorted(
        (int(i[c.REFERRAL_NUMBER]["N"]), Decimal(i[c.REWARD_AMOUNT]["N"])) for page in pages for i in page["Items"]
    )
    if stored != [(k, tiers.reward_for(k)) for k in range(1, n + 1)]:
        raise AssertionError(f"stored referral numbers or amounts are not exact: {stored[:5]}...")
    key = {c.USER_ID: {"S": REFERRER}, c.REFERRAL_TIMESTAMP: {"N": str(c.PROFILE_TIMESTAMP)}}
    profile = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    total = sum((tiers.reward_for(k) for k in range(1, n + 1)), Decimal(0))
    count, stored_total = int(profile[c.REFERRAL_COUNT]["N"]), Decimal(profile[c.TOTAL_REWARDS]["N"])
    if (count, stored_total) != (n, total):
        raise AssertionError(f"referrer's count/total {count}/{stored_total}, expected {n}/{total}")
