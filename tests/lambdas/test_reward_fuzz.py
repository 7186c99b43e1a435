"""Malformed signup bodies, generated: every one is a 400, makes no AWS call and writes nothing."""

import base64
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, invoke, signup_event

ID_ALPHABET = string.ascii_letters + string.digits + "_-"
valid_ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=64)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)
non_strings = json_values.filter(lambda value: not isinstance(value, str))


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


# Strings an id must refuse: empty, too long, or holding a character outside the alphabet.
bad_id_strings = (
    st.just("")
    | st.text(alphabet=ID_ALPHABET, min_size=65, max_size=80)
    | st.tuples(st.text(alphabet=ID_ALPHABET, max_size=10), st.characters(exclude_characters=ID_ALPHABET)).map("".join)
)
bad_ids = non_strings.filter(lambda value: value is not None) | bad_id_strings
bad_codes = non_strings.filter(lambda value: value is not None) | bad_id_strings
no_at = st.text(alphabet=st.characters(exclude_characters="@"), max_size=30)
bad_emails = (
    non_strings.filter(lambda value: value is not None)
    | no_at  # no "@"
    | st.tuples(no_at, no_at, no_at).map("@".join)  # two
    | st.tuples(no_at, st.text(alphabet=st.characters(exclude_characters="@."), max_size=20)).map(
        "@".join  # no dot in the domain
    )
    | st.just("a" * 250 + "@example.com")  # too long
)


def _with(base: dict, **fields: object) -> str:
    return json.dumps(base | fields)


malformed = st.one_of(
    st.just((None, False)),
    st.just(("", False)),
    st.text(max_size=200).filter(lambda text: text != "" and not _is_object(text)).map(lambda t: (t, False)),
    json_values.filter(lambda value: not isinstance(value, dict)).map(lambda v: (json.dumps(v), False)),
    st.builds(lambda v: (_with({"referralCode": "ref"}, userId=v), False), bad_ids),
    st.builds(lambda u: (json.dumps({"referralCode": "ref", "email": "a@b.co", "x": u}), False), valid_ids),
    st.builds(lambda u, code: (_with({"userId": u}, referralCode=code), False), valid_ids, bad_codes),
    st.builds(lambda u, e: (_with({"userId": u, "referralCode": "ref"}, email=e), False), valid_ids, bad_emails),
    st.builds(lambda u: (_with({"userId": u}, referralCode=u), False), valid_ids),  # self-referral
    st.builds(lambda u: (_with({"userId": u}, email="a" * 4100 + "@example.com"), False), valid_ids),
    st.text(alphabet="!#$%&*?", min_size=1, max_size=40).map(lambda t: (t, True)),  # not base64 at all
    st.binary(max_size=200)
    .filter(lambda raw: not _is_object(raw.decode("utf-8", "replace")))
    .map(lambda raw: (base64.b64encode(raw).decode(), True)),
)


def test_malformed_bodies_are_400_with_no_call_and_no_write(aws: FakeAws) -> None:
    examples = []

    @settings(
        max_examples=1000,
        deadline=None,
        database=None,  # no .hypothesis/ directory in the working tree
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=malformed)
    def check(case: tuple[str | None, bool]) -> None:
        body, base64_encoded = case
        event = signup_event(body)
        event["isBase64Encoded"] = base64_encoded
        status, answer = invoke(event)
        assert status == 400, (body, answer)
        assert answer["error"]
        assert log.calls == []
        examples.append(case)

    with recorded_calls() as log:
        check()
    assert len(examples) >= 1000
    assert all_items(aws) == []  # one table across all examples
