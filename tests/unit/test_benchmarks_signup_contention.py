"""The signup path under the conflict model: small trials, and the exactness check itself.

benchmarks/signup_contention.py runs real Signups on the DynamoDB store against moto behind the
conflict model, in simulated time, so these trials take seconds and give the same figures on
every run.
"""

from dataclasses import replace

import pytest

from benchmarks.conflict_model import Timing
from benchmarks.emulated_aws import emulated_aws
from benchmarks.signup_contention import REFERRER, Workload, check_exact, run_trial
from referrals.lifecycle import RewardState
from referrals.referral_store import DynamoReferralStore
from referrals.signup import Referral, Rewarded
from referrals.signup_reward import SignupReward
from referrals.tiers import parse_tiers

TIERS = parse_tiers(None)
PAYABLE = SignupReward(RewardState.PAYABLE, 0, 0)


def test_a_burst_commits_every_signup_in_turn_without_a_conflict() -> None:
    trial = run_trial(Workload("10 at once", 10, 0.0), Timing(0.020), TIERS)
    assert (trial.succeeded, trial.busy, trial.conflicts, trial.commits) == (10, 0, 0, 10)
    assert trial.calls <= 2.5 * trial.succeeded  # a ticket and a commit each, and an anchor
    assert max(trial.latencies_ms) < 10 * 40  # about a slot each


@pytest.mark.parametrize("transaction_s", [0.010, 0.030])
def test_a_stream_near_the_counters_capacity_gets_no_503(transaction_s: float) -> None:
    trial = run_trial(Workload("30 over 0.75 s", 30, 0.75), Timing(transaction_s), TIERS)
    assert (trial.succeeded, trial.busy, trial.conflicts) == (30, 0, 0)
    assert trial.calls <= 2.5 * trial.succeeded


def test_a_trial_gives_the_same_figures_on_every_run() -> None:
    timing = replace(Timing(0.020), seed=3)
    workload = Workload("12 over 0.3 s", 12, 0.3)
    assert run_trial(workload, timing, TIERS) == run_trial(workload, timing, TIERS)


def test_the_check_refuses_a_gap_in_the_numbers() -> None:
    with emulated_aws() as aws:
        store = DynamoReferralStore(aws.referral_table)
        store.create_profile(REFERRER, None, None)
        referrals = [
            Referral(f"u{n}", REFERRER, 1_000 + n, None, "2026-12-01T12:00:00.000Z", TIERS.reward_for(n), n, PAYABLE)
            for n in (1, 2)
        ]
        for count, referral in enumerate(referrals):
            store.commit_referral(referral, expected_count=count, ticket=count + 1, sent_at_ms=0)
        answered = [Rewarded(referrals[0], False), Rewarded(replace(referrals[1], referral_number=3), False)]
        with pytest.raises(AssertionError, match=r"answered numbers are not 1\.\.2"):
            check_exact(aws.referral_table, answered, TIERS)
        check_exact(aws.referral_table, [Rewarded(r, False) for r in referrals], TIERS)
