"""The reward lifecycle's transition table (referrals/lifecycle.py), every position x every action."""

import pytest

from referrals.lifecycle import (
    AdminAction,
    AlreadySo,
    Decision,
    Moved,
    Refused,
    Reward,
    RewardState,
    all_rewards,
    decide,
)

WAITING = Reward(RewardState.WAITING, qualified=False)
FLAGGED_UNQUALIFIED = Reward(RewardState.FLAGGED, qualified=False)
FLAGGED = Reward(RewardState.FLAGGED, qualified=True)
PAYABLE = Reward(RewardState.PAYABLE, qualified=True)
PAID = Reward(RewardState.PAID, qualified=True)
REVERSED_UNQUALIFIED = Reward(RewardState.REVERSED, qualified=False)
REVERSED = Reward(RewardState.REVERSED, qualified=True)
CLAWED_BACK = Reward(RewardState.CLAWED_BACK, qualified=True)

QUALIFY, APPROVE, REVERSE = AdminAction.QUALIFY, AdminAction.APPROVE, AdminAction.REVERSE
SAME = "already so"
REFUSED = "409"

# The table of docs/lifecycle-design.md, written out: the new position, SAME (an idempotent
# repeat) or REFUSED.
TABLE: dict[Reward, dict[AdminAction, Reward | str]] = {
    WAITING: {QUALIFY: PAYABLE, APPROVE: SAME, REVERSE: REVERSED_UNQUALIFIED},
    FLAGGED_UNQUALIFIED: {QUALIFY: FLAGGED, APPROVE: WAITING, REVERSE: REVERSED_UNQUALIFIED},
    FLAGGED: {QUALIFY: SAME, APPROVE: PAYABLE, REVERSE: REVERSED},
    PAYABLE: {QUALIFY: SAME, APPROVE: SAME, REVERSE: REVERSED},
    PAID: {QUALIFY: REFUSED, APPROVE: REFUSED, REVERSE: CLAWED_BACK},
    REVERSED_UNQUALIFIED: {QUALIFY: REFUSED, APPROVE: REFUSED, REVERSE: SAME},
    REVERSED: {QUALIFY: REFUSED, APPROVE: REFUSED, REVERSE: SAME},
    CLAWED_BACK: {QUALIFY: REFUSED, APPROVE: REFUSED, REVERSE: SAME},
}
CELLS = [(reward, action) for reward in TABLE for action in AdminAction]


def expected(reward: Reward, action: AdminAction) -> Decision:
    outcome = TABLE[reward][action]
    if outcome == SAME:
        return AlreadySo(reward)
    if outcome == REFUSED:
        return Refused(action, reward)
    assert isinstance(outcome, Reward)
    return Moved(reward, outcome)


def test_the_table_covers_every_position_and_action() -> None:
    assert set(TABLE) == set(all_rewards())
    assert len(all_rewards()) == 8
    assert all(set(row) == set(AdminAction) for row in TABLE.values())


@pytest.mark.parametrize(("reward", "action"), CELLS, ids=[f"{r.state}-{r.qualified}-{a}" for r, a in CELLS])
def test_every_cell_of_the_table(reward: Reward, action: AdminAction) -> None:
    assert decide(reward, action) == expected(reward, action)


@pytest.mark.parametrize(("reward", "action"), CELLS, ids=[f"{r.state}-{r.qualified}-{a}" for r, a in CELLS])
def test_the_same_call_again_is_an_idempotent_repeat(reward: Reward, action: AdminAction) -> None:
    first = decide(reward, action)
    if isinstance(first, Moved):
        assert decide(first.after, action) == AlreadySo(first.after)
    else:
        assert decide(reward, action) == first  # a repeat of a repeat or a refusal answers the same


def test_nothing_ever_goes_back() -> None:
    # No position is re-entered and qualification is never lost: each transition (and its
    # event) happens at most once per reward.
    moves = {reward: {d.after for a in AdminAction if isinstance(d := decide(reward, a), Moved)} for reward in TABLE}
    assert all(after.qualified >= reward.qualified for reward, afters in moves.items() for after in afters)
    reachable = {reward: set(afters) for reward, afters in moves.items()}
    for _ in TABLE:  # transitive closure, one step per round
        reachable = {r: found | {far for near in found for far in reachable[near]} for r, found in reachable.items()}
    assert not [reward for reward, found in reachable.items() if reward in found]


def test_only_a_paid_reward_records_a_clawback_and_only_qualify_or_approve_make_one_payable() -> None:
    moves = [(r, a, d) for r, a in CELLS if isinstance(d := decide(r, a), Moved)]
    assert {(r, a) for r, a, d in moves if d.records_clawback} == {(PAID, REVERSE)}
    assert {(r, a) for r, a, d in moves if d.becomes_payable} == {(WAITING, QUALIFY), (FLAGGED, APPROVE)}


def test_refusals_say_why() -> None:
    assert Refused(APPROVE, REVERSED).message == "cannot approve a reward that has been reversed"
    assert Refused(QUALIFY, PAID).message == "cannot qualify a reward that has been paid"
    assert Refused(APPROVE, CLAWED_BACK).message == "cannot approve a reward that has been paid and clawed back"


@pytest.mark.parametrize(
    ("state", "qualified"),
    [
        (RewardState.WAITING, True),
        (RewardState.PAYABLE, False),
        (RewardState.PAID, False),
        (RewardState.CLAWED_BACK, False),
    ],
)
def test_impossible_positions_are_refused(state: RewardState, qualified: bool) -> None:
    with pytest.raises(ValueError, match=f"a {state} reward cannot be"):
        Reward(state, qualified)
