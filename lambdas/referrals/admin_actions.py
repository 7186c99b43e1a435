"""The admin use case: qualify, approve or reverse one referral's reward (POST /referrals/{userId}/...).

Read the reward, decide (lifecycle.decide), write on the condition that it is still where it was
read. Plain Python: storage sits behind the small AdminStore interface (admin_store.py is the
DynamoDB implementation). A refused condition hands back the reward as it is now (something
else moved it: another admin call, or the payout's claim), and the decision is made again from
there, so a reversal that loses to the payout's claim claws the reward back instead of voiding
it. docs/lifecycle-design.md#admin-actions-read-decide-write-on-condition.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from referrals import lifecycle
from referrals.admin_requests import AdminRequest
from referrals.lifecycle import AdminAction, Reward, RewardState
from referrals.lifecycle_settings import LifecycleSettings

# Decide-and-write rounds per call. A refused write means something else moved the reward
# meanwhile, and nothing goes back (qualified, approved, paid, reversed: each once), so a race
# settles within a few rounds; past them the caller gets a 503 and retries.
MAX_ROUNDS = 3


@dataclass(frozen=True)
class StoredReward:
    """A referral item as the store read (or wrote) it."""

    user_id: str  # the referee
    timestamp_ms: int  # the referral item's range key
    referrer_id: str
    reward_amount: Decimal
    stored_status: str  # as stored ("pending" on items from before the lifecycle): writes condition on it
    reward: Reward  # where it stands in the lifecycle
    qualified_at: int | None = None
    payable_at: int | None = None
    reversal_reason: str | None = None


@dataclass(frozen=True)
class Change:
    """One decided transition, for the store to write on condition."""

    before: StoredReward
    action: AdminAction
    after: Reward
    at_ms: int
    by: str  # the caller's IAM ARN
    payable_at: int | None = None  # set when `after` is payable
    reason: str | None = None  # reverse only


# What a store write comes back with.
@dataclass(frozen=True)
class Written:
    now: StoredReward


@dataclass(frozen=True)
class Stale:
    now: StoredReward | None  # the reward as the refused condition found it (None: gone)


@dataclass(frozen=True)
class StoreBusy:
    """A transaction (the payout's claim) held the item through every attempt; nothing written."""


class AdminStore(Protocol):
    def find_reward(self, user_id: str) -> StoredReward | None: ...

    def write(self, change: Change) -> Written | Stale | StoreBusy: ...


# What an admin call answers.
@dataclass(frozen=True)
class Moved:
    reward: StoredReward  # as written


@dataclass(frozen=True)
class AlreadySo:
    reward: StoredReward  # an idempotent repeat: nothing was written


@dataclass(frozen=True)
class Refused:
    message: str
    state: RewardState  # lets a caller tell a benign 409 (qualify after payment) from a real one


@dataclass(frozen=True)
class NotFound:
    user_id: str  # no referral item: an unknown user, or one who enrolled without a code


@dataclass(frozen=True)
class BadRequest:
    message: str  # admin_requests' ValidationError: nothing was read or written


@dataclass(frozen=True)
class Busy:
    """The reward kept changing or stayed locked; nothing written, the caller may retry."""


AdminOutcome = Moved | AlreadySo | Refused | NotFound | BadRequest | Busy


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class AdminActions:
    store: AdminStore
    settings: LifecycleSettings
    now_ms: Callable[[], int] = _epoch_ms

    def act(self, request: AdminRequest, caller_arn: str) -> AdminOutcome:
        current = self.store.find_reward(request.user_id)
        for _ in range(MAX_ROUNDS):
            if current is None:
                return NotFound(request.user_id)
            decision = lifecycle.decide(current.reward, request.action)
            if isinstance(decision, lifecycle.AlreadySo):
                return AlreadySo(current)
            if isinstance(decision, lifecycle.Refused):
                return Refused(decision.message, current.reward.state)
            result = self.store.write(self._change(current, decision, request, caller_arn))
            if isinstance(result, Written):
                return Moved(result.now)
            if isinstance(result, StoreBusy):
                return Busy()
            current = result.now
        return Busy()

    def _change(self, current: StoredReward, moved: lifecycle.Moved, request: AdminRequest, by: str) -> Change:
        now = self.now_ms()
        payable_at = None
        if moved.becomes_payable:
            # qualify makes it qualified now; approve keeps the time it was qualified at.
            qualified_at = now if request.action is AdminAction.QUALIFY else current.qualified_at
            if qualified_at is None:
                raise ValueError(f"the reward of {current.user_id} is flagged and qualified but has no qualified_at")
            payable_at = self.settings.payable_at(qualified_at, now)
        return Change(current, request.action, moved.after, now, by, payable_at, request.reason)
