"""Registers the moto fixtures of fake_aws.py for every handler test, and records what each
function's code calls (for tests/stack/test_least_privilege.py)."""

import os
from collections.abc import Iterator

import pytest

from tests.lambdas.aws_calls import iam_actions_recorded_for
from tests.lambdas.fake_aws import KEY_ARN_AT_IMPORT, aws

# Before any test module imports the reward handler, which refuses a cold start without it.
os.environ.setdefault("REVIEW_EMAIL_KEY_ARN", KEY_ARN_AT_IMPORT)

from tests.lambdas.relay_api import relay

__all__ = ["aws", "relay"]

FUNCTION_OF_TEST_MODULE = {
    "test_reward_": "reward-calculator",
    "test_payout_": "payout-processor",
    "test_relay_": "event-relay",
    "test_admin_": "referral-admin",
}


@pytest.fixture(autouse=True)
def _record_iam_actions(request: pytest.FixtureRequest) -> Iterator[None]:
    module = request.node.path.name
    function = next((f for prefix, f in FUNCTION_OF_TEST_MODULE.items() if module.startswith(prefix)), None)
    if function is None or "aws" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("aws")  # clients must exist inside the emulated account
    with iam_actions_recorded_for(function):
        yield
