"""The reward lifecycle: the state a referral's reward is in, and what an admin action does to it.

Decisions only, no storage: given where a reward stands and an action (qualify, approve,
reverse), the answer is the new state, an idempotent repeat ("already so": answer the same,
write nothing), or a refusal (409). The payout's claim (payable -> paid) is not an admin action;
its condition in the payout store mirrors the one state it may take. docs/lifecycle-design.md
gives the table and how each state is stored.

A reward is in one of eight positions: a state, and for the states that allow both, whether the
referee's qualifying action has happened. Review and qualification are independent (a flagged
reward may or may not be qualified yet), and nothing goes back: a reward is qualified once,
cleared of its flag once and reversed once, so every transition happens at most once per reward.
"""

from dataclasses import dataclass
from enum import StrEnum


class RewardState(StrEnum):
    WAITING = "waiting"  # earned; waits for the referee's qualifying action (REWARD_QUALIFICATION=event)
    FLAGGED = "flagged"  # a review signal fired at signup: waits for approve or reverse
    PAYABLE = "payable"  # qualified and clear: the first payout whose cutoff is after its payable_at pays it
    PAID = "paid"
    REVERSED = "reversed"  # reversed before it was paid: voided, never paid
    CLAWED_BACK = "clawed_back"  # reversed after it was paid: it stays paid, a clawback records the debt


class AdminAction(StrEnum):
    QUALIFY = "qualify"  # the host application reports the referee's qualifying action
    APPROVE = "approve"  # a reviewer clears the flag; it skips neither qualification nor the hold
    REVERSE = "reverse"  # void an unpaid reward, or claw back a paid one


# Which states leave qualification open: a waiting reward never is qualified, payable and paid
# ones always are; a flagged or reversed one may be either.
_QUALIFIED_ALWAYS = frozenset({RewardState.PAYABLE, RewardState.PAID, RewardState.CLAWED_BACK})
_QUALIFIED_NEVER = frozenset({RewardState.WAITING})
# Qualify and approve refuse these (409): what they would decide no longer matters. Only reverse
# acts on them (a paid reward is clawed back).
_PAID_OR_REVERSED = frozenset({RewardState.PAID, RewardState.REVERSED, RewardState.CLAWED_BACK})


@dataclass(frozen=True)
class Reward:
    state: RewardState
    qualified: bool  # the qualifying action happened (under REWARD_QUALIFICATION=signup: at signup)

    def __post_init__(self) -> None:
        if not _possible(self.state, self.qualified):
            raise ValueError(f"a {self.state} reward cannot be {'' if self.qualified else 'un'}qualified")


@dataclass(frozen=True)
class Moved:
    before: Reward
    after: Reward

    @property
    def becomes_payable(self) -> bool:
        """The store sets payable_at and the payable index key: the payout may now pay it."""
        return self.after.state is RewardState.PAYABLE

    @property
    def records_clawback(self) -> bool:
        """The reward was paid: its reversal records a clawback for the referrer (the paid item stays)."""
        return self.after.state is RewardState.CLAWED_BACK


@dataclass(frozen=True)
class AlreadySo:
    """The action's result holds already: an idempotent repeat answers the same and writes nothing."""

    reward: Reward


@dataclass(frozen=True)
class Refused:
    """The reward's state forbids the action (a 409); nothing is written."""

    action: AdminAction
    reward: Reward

    @property
    def message(self) -> str:
        return f"cannot {self.action} a reward that {_DESCRIPTIONS[self.reward.state]}"


Decision = Moved | AlreadySo | Refused

_DESCRIPTIONS = {
    RewardState.PAID: "has been paid",
    RewardState.REVERSED: "has been reversed",
    RewardState.CLAWED_BACK: "has been paid and clawed back",
}


def all_rewards() -> tuple[Reward, ...]:
    """Every position a reward can be in, in the order of RewardState."""
    return tuple(
        Reward(state, qualified) for state in RewardState for qualified in (False, True) if _possible(state, qualified)
    )


def _possible(state: RewardState, qualified: bool) -> bool:
    return state not in (_QUALIFIED_NEVER if qualified else _QUALIFIED_ALWAYS)


def decide(reward: Reward, action: AdminAction) -> Decision:
    """What `action` does to `reward`."""
    match action:
        case AdminAction.QUALIFY:
            return _qualify(reward)
        case AdminAction.APPROVE:
            return _approve(reward)
        case AdminAction.REVERSE:
            return _reverse(reward)


def _qualify(reward: Reward) -> Decision:
    if reward.state in _PAID_OR_REVERSED:
        return Refused(AdminAction.QUALIFY, reward)
    if reward.qualified:
        return AlreadySo(reward)
    # A flagged reward stays flagged: qualification and review are independent.
    state = RewardState.FLAGGED if reward.state is RewardState.FLAGGED else RewardState.PAYABLE
    return Moved(reward, Reward(state, qualified=True))


def _approve(reward: Reward) -> Decision:
    if reward.state in _PAID_OR_REVERSED:
        return Refused(AdminAction.APPROVE, reward)
    if reward.state is not RewardState.FLAGGED:
        return AlreadySo(reward)  # nothing to clear: waiting or payable, as it would be after approval
    state = RewardState.PAYABLE if reward.qualified else RewardState.WAITING
    return Moved(reward, Reward(state, reward.qualified))


def _reverse(reward: Reward) -> Decision:
    if reward.state in (RewardState.REVERSED, RewardState.CLAWED_BACK):
        return AlreadySo(reward)
    if reward.state is RewardState.PAID:
        return Moved(reward, Reward(RewardState.CLAWED_BACK, qualified=True))
    return Moved(reward, Reward(RewardState.REVERSED, reward.qualified))
