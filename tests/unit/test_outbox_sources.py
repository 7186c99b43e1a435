"""Which table a change is from is read from its keys (referrals/outbox_events.py): a referral item
has both user_id and referral_timestamp, a run record has idempotency_key; a profile (at the
profile timestamp) publishes nothing even if it carried a referrer."""

from decimal import Decimal

import pytest

from referrals import contract as c
from referrals.outbox_events import INSERT, Change, UnknownChange, message_for
from tests.unit.test_outbox_events import PROFILE, PROFILE_KEYS, REFERRAL


@pytest.mark.parametrize(
    "keys",
    [{c.USER_ID: "bob"}, {c.REFERRAL_TIMESTAMP: Decimal(1)}, {"pk": "x"}],
)
def test_a_change_with_only_part_of_a_referral_key_is_from_no_known_table(keys: dict) -> None:
    with pytest.raises(UnknownChange, match="is from no table the relay knows"):
        message_for(Change(INSERT, keys, None, REFERRAL | keys))


def test_a_profile_created_with_a_referrer_and_an_amount_publishes_nothing() -> None:
    profile = PROFILE | {
        c.REFERRER_ID: "carol",
        c.REWARD_AMOUNT: Decimal(10),
        c.REFERRAL_NUMBER: Decimal(1),
    }
    assert message_for(Change(INSERT, PROFILE_KEYS, None, profile)) == ()
