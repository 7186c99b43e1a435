"""NaN, Infinity and -Infinity are not JSON (RFC 8259), although Python's json module reads them:
a body that uses them is refused as invalid JSON, before any field is looked at or anything written."""

import pytest

from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, invoke, sign_up, signup_event

INVALID_JSON = (400, {"error": "request body must be valid UTF-8 JSON"})


@pytest.mark.parametrize(
    "body",
    [
        '{"userId": "a", "referralCode": NaN}',
        '{"userId": "a", "referralCode": Infinity}',
        '{"userId": "a", "referralCode": -Infinity}',
        '{"userId": NaN, "referralCode": "ref"}',
        '{"userId": "a", "referralCode": "ref", "email": [-Infinity]}',
        '{"userId": "a", "referralCode": "ref", "extra": {"n": NaN}}',
    ],
)
def test_json_constants_are_invalid_json_and_nothing_is_written(aws: FakeAws, body: str) -> None:
    sign_up("ref")
    before = all_items(aws)
    with recorded_calls() as log:
        assert invoke(signup_event(body)) == INVALID_JSON
    assert log.calls == []
    assert all_items(aws) == before


def test_the_words_inside_strings_are_still_fine(aws: FakeAws) -> None:
    sign_up("NaN")
    assert invoke(signup_event('{"userId": "Infinity", "referralCode": "NaN"}'))[0] == 200
