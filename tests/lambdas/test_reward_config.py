"""REWARD_TIERS: a custom table pays exact amounts; an invalid one fails the function at import."""

import importlib
from collections.abc import Callable, Iterator

import pytest

from referrals.tiers import TierConfigError
from reward_calculator import handler as reward
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import LambdaContext, sign_up, signup_event


@pytest.fixture
def reload_with_tiers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Re-imports the handler with a REWARD_TIERS setting; the default module is restored after."""

    def reload(setting: str) -> None:
        monkeypatch.setenv("REWARD_TIERS", setting)
        importlib.reload(reward)

    yield reload
    monkeypatch.delenv("REWARD_TIERS", raising=False)
    importlib.reload(reward)


def test_custom_tiers_pay_exact_decimal_amounts(aws: FakeAws, reload_with_tiers) -> None:
    reload_with_tiers('{"1": "12.50", "3": "20.05"}')
    sign_up("ref")
    bodies = [
        reward.handler(signup_event({"userId": f"u{n}", "referralCode": "ref"}), LambdaContext())["body"]
        for n in range(1, 4)
    ]
    assert bodies == [
        '{"message":"referral recorded","rewardAmount":12.50,"referralCount":1}',
        '{"message":"referral recorded","rewardAmount":12.50,"referralCount":2}',
        '{"message":"referral recorded","rewardAmount":20.05,"referralCount":3}',
    ]


@pytest.mark.parametrize("setting", ['{"5": "15"}', '{"1": 2.5e400}', "not json", '{"1": "-3"}'])
def test_invalid_tiers_fail_the_import_naming_the_variable(reload_with_tiers, setting: str) -> None:
    with pytest.raises(TierConfigError, match="REWARD_TIERS"):
        reload_with_tiers(setting)


def test_the_default_table_is_back_after_a_reload(reload_with_tiers) -> None:
    reload_with_tiers('{"1": "1"}')
    assert reward.TIERS.reward_for(1) == 1
