"""The admin use case against a fake store: how many rounds it tries when its writes keep being
refused, and what a refused write that finds the reward gone answers. (The real store and every
transition: tests/lambdas/test_admin_*.py.)"""

from dataclasses import dataclass, field
from decimal import Decimal

from referrals.admin_actions import (
    MAX_ROUNDS,
    AdminActions,
    Busy,
    Change,
    NotFound,
    Stale,
    StoreBusy,
    StoredReward,
    Written,
)
from referrals.admin_requests import AdminRequest
from referrals.lifecycle import AdminAction, Reward, RewardState
from referrals.lifecycle_settings import LifecycleSettings

WAITING = StoredReward("bob", 1, "alice", Decimal("10.00"), "waiting", Reward(RewardState.WAITING, qualified=False))


@dataclass
class RefusingStore:
    """Every write is refused; the reward is then `found_after` (None: gone)."""

    found_after: StoredReward | None
    writes: list[Change] = field(default_factory=list)

    def find_reward(self, user_id: str) -> StoredReward | None:
        return WAITING

    def write(self, change: Change) -> Written | Stale | StoreBusy:
        self.writes.append(change)
        return Stale(self.found_after)


def test_writes_refused_round_after_round_end_in_busy_after_max_rounds() -> None:
    store = RefusingStore(found_after=WAITING)
    outcome = AdminActions(store, LifecycleSettings(), now_ms=lambda: 5).act(
        AdminRequest("bob", AdminAction.QUALIFY), "arn"
    )
    assert outcome == Busy()
    assert len(store.writes) == MAX_ROUNDS


def test_a_refused_write_that_finds_the_reward_gone_is_not_found() -> None:
    store = RefusingStore(found_after=None)
    outcome = AdminActions(store, LifecycleSettings(), now_ms=lambda: 5).act(
        AdminRequest("bob", AdminAction.QUALIFY), "arn"
    )
    assert outcome == NotFound("bob")
    assert len(store.writes) == 1


def test_qualify_bakes_the_hold_into_payable_at() -> None:
    store = RefusingStore(found_after=None)
    AdminActions(store, LifecycleSettings(hold_days=2), now_ms=lambda: 5).act(
        AdminRequest("bob", AdminAction.QUALIFY), "arn"
    )
    (change,) = store.writes
    assert (change.at_ms, change.payable_at, change.by) == (5, 5 + 2 * 86_400_000, "arn")
