"""What a payout logs about its progress (docs: Monthly payout, "Metrics and logs"): the rewards
claimed now and by earlier invocations, and the profiles credited."""

import logging
from collections.abc import Iterator

import pytest

from referrals.payout_run import LedgerItem, Reward, run_payout
from tests.unit.test_payout_run import REQUEST, MemoryStore, invocation


class ResumedStore(MemoryStore):
    """Two rewards (of referrers 0 and 1) were claimed by an earlier invocation of the payout."""

    def claimed_items(self, payout_id: str) -> Iterator[Reward | LedgerItem]:
        return iter([self._reward(900_000), self._reward(900_001)])


def logged(caplog: pytest.LogCaptureFixture, message: str) -> logging.LogRecord:
    [record] = [r for r in caplog.records if r.name == "referrals.payout_run" and r.getMessage() == message]
    return record


def test_a_resumed_run_logs_what_it_claimed_now_and_what_was_claimed_before(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="referrals.payout_run")
    # 150 referrers: credited in two transactions, of 100 and 50.
    run_payout(REQUEST, invocation(), ResumedStore(rewards=150, referrers=150))

    claimed = logged(caplog, "rewards claimed")
    assert (claimed.rewards_total, claimed.claimed_earlier) == (152, 2)
    credited = logged(caplog, "referrer profiles credited")
    assert (credited.credited_now, credited.referrers) == (150, 150)
