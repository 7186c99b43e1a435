"""Malformed admin requests, generated: every one is a 400, makes no AWS call and writes nothing.

The reward is seeded flagged, where each action would write (qualify, approve and reverse all move
it), so a malformed request that slipped through would show in the table. One table for every
example keeps the test fast."""

import base64
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals.admin_requests import MAX_REASON_CHARACTERS
from tests.lambdas.admin_api import admin_event, invoke, seed
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items

ID_ALPHABET = string.ascii_letters + string.digits + "_-"
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)
GOOD_REASON = json.dumps({"reason": "refunded order 4411"})


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _json(value: object) -> str:
    return json.dumps(value)


not_objects = st.one_of(
    st.text(max_size=60).filter(lambda text: text != "" and not _is_object(text)),
    json_values.filter(lambda value: not isinstance(value, dict)).map(_json),
    st.just("{" + " " * 4100 + "}"),  # an object, but over the size limit
    st.just('{"reason": NaN}'),
)
# Bodies as (text, marked base64): wrong for every action.
wrong_bodies = st.one_of(
    not_objects.map(lambda text: (text, False)),
    st.text(alphabet="!#$%&*?", min_size=1, max_size=20).map(lambda text: (text, True)),  # not base64 at all
    st.binary(max_size=60)
    .filter(lambda raw: raw != b"" and not _is_object(raw.decode("utf-8", "replace")))
    .map(lambda raw: (base64.b64encode(raw).decode(), True)),
)
# qualify and approve take no fields.
with_fields = st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=3).map(lambda d: (_json(d), False))
bad_reasons = st.one_of(
    json_values.filter(lambda value: not isinstance(value, str)),
    st.just(""),
    st.text(alphabet=" \u2003\u3000", min_size=1, max_size=5),  # blank
    st.text(alphabet="ab ", min_size=MAX_REASON_CHARACTERS + 1, max_size=MAX_REASON_CHARACTERS + 20),
    st.tuples(st.text(alphabet="ab", max_size=5), st.characters(categories=["Cc"])).map("".join),
    st.just("\ud800"),  # a lone surrogate, escaped by json.dumps
)
no_reason = st.dictionaries(st.text(max_size=8).filter(lambda key: key != "reason"), json_values, max_size=3)
extra_field = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda key: key != "reason"), json_values, min_size=1, max_size=2
).map(lambda extra: {"reason": "refunded"} | extra)
reverse_bodies = st.one_of(
    st.sampled_from([(None, False), ("", False)]),
    no_reason.map(lambda d: (_json(d), False)),
    extra_field.map(lambda d: (_json(d), False)),
    bad_reasons.map(lambda reason: (_json({"reason": reason}), False)),
)
bad_ids = st.one_of(
    st.just(""),
    st.none(),
    st.integers(),
    st.text(alphabet=ID_ALPHABET, min_size=65, max_size=70),
    st.tuples(st.text(alphabet=ID_ALPHABET, max_size=5), st.characters(exclude_characters=ID_ALPHABET)).map("".join),
)
malformed = st.one_of(
    st.tuples(st.sampled_from(["qualify", "approve"]), st.just("bob"), wrong_bodies | with_fields),
    st.tuples(st.just("reverse"), st.just("bob"), wrong_bodies | reverse_bodies),
    st.tuples(st.sampled_from(["qualify", "approve"]), bad_ids, st.sampled_from([(None, False), ("{}", False)])),
    st.tuples(st.just("reverse"), bad_ids, st.just((GOOD_REASON, False))),
)


def test_malformed_admin_requests_are_400_with_no_call_and_no_write(aws: FakeAws) -> None:
    seed(aws, "flagged")
    before = all_items(aws)
    examples = []

    @settings(
        max_examples=1200,
        deadline=None,
        database=None,  # no .hypothesis/ directory in the working tree
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=malformed)
    def check(case: tuple[str, object, tuple[str | None, bool]]) -> None:
        action, user_id, (body, base64_encoded) = case
        event = admin_event(user_id, action)
        event["body"], event["isBase64Encoded"] = body, base64_encoded
        status, answer = invoke(event)
        assert status == 400, (case, answer)
        assert answer["error"]
        assert log.calls == []
        examples.append(case)

    with recorded_calls() as log:
        check()
    assert len(examples) >= 1000
    assert all_items(aws) == before
