"""POST /signup decides the reward's state (docs/lifecycle-design.md#signup-still-two-calls), on moto:
each setting's effect on the new item, each review signal through a real signup, the calls it
costs, retries, and the e-mail key secret's cold start."""

import importlib
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals import aws_clients
from referrals import contract as c
from referrals.email_key_secret import KEY_ARN_VARIABLE
from referrals.lifecycle_settings import DAY_MS, LifecycleConfigError
from referrals.referral_store import EMAIL_KEY_SUFFIX, OWNER, QUEUE_SUFFIX
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, captured_logs, item, one_request_at_a_time, referral_of, sign_up

RECORDED = {"message": "referral recorded"}
TICKET_AND_COMMIT = ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]
Reload = Callable[..., None]


@pytest.fixture
def reload_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reload]:
    """Re-imports the handler (its cold start) with lifecycle settings; the defaults are back after."""
    names: set[str] = set()
    key_arn = os.environ[KEY_ARN_VARIABLE]

    def reload(**settings_: str) -> None:
        for name, value in settings_.items():
            names.add(name)
            monkeypatch.setenv(name, value)
        importlib.reload(reward)

    yield reload
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(KEY_ARN_VARIABLE, key_arn)  # a test may have taken it away
    importlib.reload(reward)


def email_keys(aws: FakeAws) -> dict[str, str]:
    """Every e-mail key item: key -> owner."""
    return {i[c.USER_ID]: i[OWNER] for i in all_items(aws) if i[c.USER_ID].endswith(EMAIL_KEY_SUFFIX)}


def signals_of(aws: FakeAws, user_id: str) -> set[str]:
    return set(referral_of(aws, user_id).get(c.REVIEW_SIGNALS, set()))


# Settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 1, 30, 365])
def test_the_hold_is_baked_into_payable_at_to_the_day(aws: FakeAws, reload_with: Reload, days: int) -> None:
    reload_with(REWARD_HOLD_DAYS=str(days))
    sign_up("alice")
    assert sign_up("bob", "alice")[0] == 200
    referral = referral_of(aws, "bob")
    signed_up = referral[c.REFERRAL_TIMESTAMP]
    assert (referral[c.STATUS], referral[c.QUALIFIED_AT]) == (c.STATUS_PAYABLE, signed_up)
    assert referral[c.PAYABLE_AT] == signed_up + days * DAY_MS
    assert referral[c.PAYABLE_KEY] == c.PAYABLE_KEY_VALUE


def test_qualification_by_event_writes_a_waiting_reward_no_payout_or_queue_sees(
    aws: FakeAws, reload_with: Reload
) -> None:
    reload_with(REWARD_QUALIFICATION="event", REWARD_HOLD_DAYS="7")
    sign_up("alice")
    assert sign_up("bob", "alice", "bob@example.com") == (200, RECORDED | {"rewardAmount": 10, "referralCount": 1})
    referral = referral_of(aws, "bob")
    assert referral[c.STATUS] == c.STATUS_WAITING
    absent = (c.QUALIFIED_AT, c.PAYABLE_KEY, c.PAYABLE_AT, c.FLAGGED_KEY, c.REVIEW_SIGNALS, c.PENDING_KEY)
    assert set(absent).isdisjoint(referral)
    assert item(aws, "alice")[c.TOTAL_REWARDS] == 10  # type: ignore[index]  # earned: the counters count it


def test_with_the_shared_email_signal_off_no_key_is_claimed_and_kms_never_called(
    aws: FakeAws, reload_with: Reload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ARN_VARIABLE)  # the key is not needed then
    reload_with(REVIEW_SHARED_EMAIL="false")
    with recorded_calls() as log:
        sign_up("alice", email="alice@example.com")
        assert sign_up("bob", "alice", "alice@example.com")[0] == 200
    assert "kms:GenerateMac" not in log.calls
    assert email_keys(aws) == {}
    assert referral_of(aws, "bob")[c.STATUS] == c.STATUS_PAYABLE  # the referrer's own address: unnoticed


def test_the_signal_on_without_its_key_fails_the_cold_start(reload_with: Reload, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ARN_VARIABLE, raising=False)
    with pytest.raises(LifecycleConfigError, match=f"{KEY_ARN_VARIABLE} must name the KMS HMAC key"):
        reload_with(REVIEW_SHARED_EMAIL="true")
    monkeypatch.setenv(KEY_ARN_VARIABLE, "   ")
    with pytest.raises(LifecycleConfigError, match=KEY_ARN_VARIABLE):
        reload_with()


def test_bad_lifecycle_settings_fail_the_cold_start_naming_each(reload_with: Reload) -> None:
    with pytest.raises(LifecycleConfigError) as raised:
        reload_with(REWARD_HOLD_DAYS="-1", REWARD_QUALIFICATION="later", REVIEW_BURST_PER_HOUR="25")
    named = ("REWARD_HOLD_DAYS", "REWARD_QUALIFICATION", "REVIEW_BURST_PER_HOUR")
    assert all(name in str(raised.value) for name in named)
    reload_with(REWARD_HOLD_DAYS="", REWARD_QUALIFICATION="", REVIEW_BURST_PER_HOUR="")  # blank: the defaults


# The e-mail key secret -----------------------------------------------------------------------------


def test_the_secret_costs_one_kms_call_per_container_and_honest_signups_two_calls(aws: FakeAws) -> None:
    with recorded_calls() as log:
        sign_up("alice", email="alice@example.com")
    assert log.calls == ["kms:GenerateMac", "dynamodb:TransactWriteItems"]  # the cold start's one KMS call
    for n in range(3):
        with recorded_calls() as log:
            assert sign_up(f"user-{n}", "alice", f"user.{n}@example.com")[0] == 200
        assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]
        assert referral_of(aws, f"user-{n}")[c.STATUS] == c.STATUS_PAYABLE
    assert sorted(email_keys(aws).values()) == ["alice", "user-0", "user-1", "user-2"]


def test_the_commit_claims_the_key_in_its_transaction(aws: FakeAws) -> None:
    sign_up("alice", email="alice@example.com")
    transactions: list[list[dict]] = []

    def record(params: dict, **_: object) -> None:
        transactions.append(params["TransactItems"])

    client = aws_clients.client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", record, unique_id="txn")
    try:
        sign_up("bob", "alice", "Bob+Promo@Example.com")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unique_id="txn")
    ((*_, key_put),) = transactions
    put = key_put["Put"]
    assert put["ConditionExpression"] == f"attribute_not_exists({c.USER_ID})"
    assert put["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert set(put["Item"]) == {c.USER_ID, c.REFERRAL_TIMESTAMP, OWNER}
    assert put["Item"][OWNER] == {"S": "bob"}
    key = put["Item"][c.USER_ID]["S"]
    assert key.endswith(EMAIL_KEY_SUFFIX) and "bob" not in key.lower() and "@" not in key


def test_a_kms_refusal_answers_500_writes_nothing_and_is_not_remembered(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up("alice")  # no e-mail: no secret needed
    not_an_hmac_key = boto3.client("kms", region_name=aws.region).create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv(KEY_ARN_VARIABLE, not_an_hmac_key)
    before = all_items(aws)
    with captured_logs() as logs, recorded_calls() as log:
        status, body = sign_up("bob", "alice", "bob@example.com")
    assert (status, body["error"]) == (500, "internal error")
    assert [r["message"] for r in logs if r["level"] == "ERROR"] == ["unexpected error"]
    assert log.calls == ["kms:GenerateMac"]  # asked before the ticket: not even a ticket is taken
    assert all_items(aws) == before
    assert sign_up("carol", "alice")[0] == 200  # a signup without an e-mail needs no secret
    monkeypatch.setenv(KEY_ARN_VARIABLE, aws.email_key_arn)
    assert sign_up("bob", "alice", "bob@example.com")[0] == 200  # KMS is asked again
    assert email_keys(aws) and set(email_keys(aws).values()) == {"bob"}


# Review signals --------------------------------------------------------------------------------------

_ids = itertools.count()


@st.composite
def gmail_variants(draw: st.DrawFn, local: str) -> str:
    """Addresses Gmail delivers to <local>@gmail.com: any case, dots anywhere, a +tag, googlemail."""
    letters = [ch for ch in local if ch != "."]
    written = ""
    for ch in letters:
        written += "." * draw(st.integers(0, 2)) + (ch.upper() if draw(st.booleans()) else ch)
    if written.startswith("."):
        written = written.lstrip(".")  # a leading dot is not a plausible local part for the test's purpose
    tag = draw(st.one_of(st.just(""), st.text("abcxyz019-", min_size=0, max_size=6).map(lambda t: f"+{t}")))
    domain = draw(st.sampled_from(["gmail.com", "GMAIL.com", "googlemail.com", "GoogleMail.COM"]))
    return f"{written}{tag}@{domain}"


@st.composite
def other_provider_variants(draw: st.DrawFn, local: str) -> str:
    """Addresses that reach <local>@example.com: case and a +tag (dots count there)."""
    local = "".join(ch.upper() if draw(st.booleans()) else ch for ch in local)
    tag = draw(st.one_of(st.just(""), st.text("abc123", max_size=5).map(lambda t: f"+{t}")))
    domain = "".join(ch.upper() if draw(st.booleans()) else ch for ch in "example.com")
    return f"{local}{tag}@{domain}"



def mailbox_and_variants(data: st.DataObject, n: int) -> tuple[str, st.SearchStrategy[str]]:
    """An address of this example's own (the fixture's table outlives it), and its variants."""
    if data.draw(st.booleans()):
        return f"john.smith{n}@gmail.com", gmail_variants(f"john.smith{n}")
    return f"jane.doe{n}@example.com", other_provider_variants(f"jane.doe{n}")

# moto's fixture is per test, not per example: every example signs up users of its own.
EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(st.data())
def test_the_referrers_own_address_in_any_variant_flags_email_of_referrer(aws: FakeAws, data: st.DataObject) -> None:
    n = next(_ids)
    mailbox, variants = mailbox_and_variants(data, n)
    variant = data.draw(variants)
    referrer, referee = f"ref-{n}", f"referee-{n}"
    assert sign_up(referrer, email=mailbox)[0] == 201
    with recorded_calls() as log:
        assert sign_up(referee, referrer, variant) == (200, RECORDED | {"rewardAmount": 10, "referralCount": 1})
    # The key was the referrer's: the first commit was refused, the second one flagged the reward.
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "dynamodb:TransactWriteItems"]
    referral = referral_of(aws, referee)
    assert (referral[c.STATUS], referral[c.FLAGGED_KEY]) == (c.STATUS_FLAGGED, c.FLAGGED_KEY_VALUE)
    assert referral[c.REVIEW_SIGNALS] == {"email_of_referrer"}
    assert referral[c.QUALIFIED_AT] == referral[c.REFERRAL_TIMESTAMP]  # qualified at signup, still flagged
    assert {c.PAYABLE_KEY, c.PAYABLE_AT}.isdisjoint(referral)
    assert referrer in email_keys(aws).values() and referee not in email_keys(aws).values()  # left to its owner
    assert item(aws, referrer)[c.REFERRAL_COUNT] == 1  # type: ignore[index]  # counted once


@EXAMPLES
@given(st.data())
def test_another_users_address_in_any_variant_flags_email_of_other_user(aws: FakeAws, data: st.DataObject) -> None:
    n = next(_ids)
    _, variants = mailbox_and_variants(data, n)
    referrer, owner, referee = f"ref-{n}", f"owner-{n}", f"referee-{n}"
    sign_up(referrer, email=f"referrer-{n}@example.org")
    assert sign_up(owner, referrer, data.draw(variants))[0] == 200  # the first with the address: clear
    assert sign_up(referee, referrer, data.draw(variants))[0] == 200
    assert referral_of(aws, owner)[c.STATUS] == c.STATUS_PAYABLE
    assert signals_of(aws, referee) == {"email_of_other_user"}
    assert list(email_keys(aws).values()).count(owner) == 1


def test_signups_with_one_mailbox_at_once_claim_its_key_once_and_flag_the_others(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four referees with variants of one mailbox sign up on threads at once, for two referrers
    (so two of the commits race outside any one signup queue): the key's condition lets exactly one
    claim it; each other commit is cancelled and commits again, flagged as another user's address."""
    one_request_at_a_time(monkeypatch)
    sign_up("ref-a", email="ref-a@example.org")
    sign_up("ref-b", email="ref-b@example.org")
    variants = ["Mail.Box+1@gmail.com", "mailbox@googlemail.com", "MAILBOX+x@gmail.com", "m.a.i.l.b.o.x@gmail.com"]
    twins = [(f"twin-{n}", "ref-a" if n % 2 else "ref-b", address) for n, address in enumerate(variants)]
    with ThreadPoolExecutor(len(twins)) as pool:
        answers = list(pool.map(lambda twin: sign_up(*twin), twins))

    assert [status for status, _ in answers] == [200] * len(twins)
    users = {user for user, _, _ in twins}
    (owner,) = [user for user in email_keys(aws).values() if user in users]
    assert referral_of(aws, owner)[c.STATUS] == c.STATUS_PAYABLE
    for user in users - {owner}:
        assert referral_of(aws, user)[c.STATUS] == c.STATUS_FLAGGED
        assert signals_of(aws, user) == {"email_of_other_user"}
    counts = [item(aws, code)[c.REFERRAL_COUNT] for code in ("ref-a", "ref-b")]  # type: ignore[index]
    assert counts == [2, 2]


def test_different_mailboxes_stay_apart(aws: FakeAws) -> None:
    sign_up("alice", email="john.smith@example.com")  # not Gmail: its dots count
    assert sign_up("bob", "alice", "johnsmith@example.com")[0] == 200
    assert sign_up("carol", "alice", "john.smith@example.net")[0] == 200
    assert referral_of(aws, "bob")[c.STATUS] == referral_of(aws, "carol")[c.STATUS] == c.STATUS_PAYABLE


def test_a_burst_of_referrals_flags_those_past_the_hourly_limit(aws: FakeAws, reload_with: Reload) -> None:
    reload_with(REVIEW_BURST_PER_HOUR="3")
    sign_up("alice", email="alice@example.com")  # the secret is derived here
    with recorded_calls() as log:
        for n in range(1, 6):
            assert sign_up(f"user-{n}", "alice", f"user{n}@example.com")[1]["referralCount"] == n
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"] * 5  # read from the ticket: free
    assert [referral_of(aws, f"user-{n}")[c.STATUS] for n in range(1, 6)] == ["payable"] * 3 + ["flagged"] * 2
    assert signals_of(aws, "user-4") == signals_of(aws, "user-5") == {"referral_burst"}


def test_both_signals_at_once(aws: FakeAws, reload_with: Reload) -> None:
    reload_with(REVIEW_BURST_PER_HOUR="1", REWARD_QUALIFICATION="event")
    sign_up("alice", email="alice@example.com")
    sign_up("bob", "alice")
    assert sign_up("carol", "alice", "ALICE+again@example.com")[0] == 200
    referral = referral_of(aws, "carol")
    assert referral[c.REVIEW_SIGNALS] == {"referral_burst", "email_of_referrer"}
    assert c.QUALIFIED_AT not in referral  # flagged, not yet qualified: waits for qualify and approve


def test_no_address_in_any_key_or_log_line(aws: FakeAws) -> None:
    addresses = ["alice@example.com", "Alice+x@Example.com"]
    with captured_logs() as logs:
        sign_up("alice", email=addresses[0])
        sign_up("bob", "alice", addresses[1])
    assert signals_of(aws, "bob") == {"email_of_referrer"}
    assert any(r["message"] == "reward flagged for review" and r["signals"] == ["email_of_referrer"] for r in logs)
    text = repr(logs).lower()
    assert not any(part in text for part in ("alice@example.com", "alice+x@example.com", "@example.com"))
    assert not any("@" in i[c.USER_ID] for i in all_items(aws))


# Retries ---------------------------------------------------------------------------------------------


def test_retries_of_a_flagged_signup_answer_the_same_and_write_nothing(aws: FakeAws) -> None:
    sign_up("alice", email="alice@example.com")
    first = sign_up("bob", "alice", "alice@example.com")
    before = [i for i in all_items(aws) if not i[c.USER_ID].endswith(QUEUE_SUFFIX)]
    for _ in range(3):
        with recorded_calls() as log:
            assert sign_up("bob", "alice", "alice@example.com") == first
        # The profile's condition fails first: an identical retry, answered as today.
        # Then the profile's pointer is read, and the ticket given back.
        assert log.calls == [*TICKET_AND_COMMIT, "dynamodb:GetItem", "dynamodb:UpdateItem"]
    after = [i for i in all_items(aws) if not i[c.USER_ID].endswith(QUEUE_SUFFIX)]
    assert [{k: v for k, v in i.items() if k not in (c.SERVED_TICKET, "served_at")} for i in after] == [
        {k: v for k, v in i.items() if k not in (c.SERVED_TICKET, "served_at")} for i in before
    ]


def test_a_retry_of_an_honest_signup_finds_its_own_key_and_is_answered_as_one(aws: FakeAws) -> None:
    sign_up("alice")
    first = sign_up("bob", "alice", "bob@example.com")
    assert sign_up("bob", "alice", "bob@example.com") == first
    assert sign_up("bob", "alice", "BOB@example.com") == first
    assert referral_of(aws, "bob")[c.STATUS] == c.STATUS_PAYABLE  # never flagged by its own key
    assert list(email_keys(aws).values()) == ["bob"]


# Enrolment -------------------------------------------------------------------------------------------


def test_enrolment_claims_the_key_so_a_later_referee_is_flagged(aws: FakeAws) -> None:
    with recorded_calls() as log:
        assert sign_up("carol", email="carol@example.com")[0] == 201
    assert log.calls == ["kms:GenerateMac", "dynamodb:TransactWriteItems"]
    assert list(email_keys(aws).values()) == ["carol"]
    sign_up("alice")
    sign_up("bob", "alice", "Carol+alt@example.com")
    assert signals_of(aws, "bob") == {"email_of_other_user"}


def test_an_enrolment_cancelled_by_a_transaction_in_flight_is_tried_again(aws: FakeAws, monkeypatch) -> None:
    """DynamoDB cancels a transaction naming an item another transaction holds (reason
    TransactionConflict; moto never does, so it is injected): an identical enrolment sent twice at
    once, or a referral claiming the same e-mail key. Nothing was written, so the enrolment is
    sent again after a short pause and answered 201, not 500."""
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    sign_up("warm", email="warm@example.com")  # the container's one KMS call happens here

    def in_flight(message: str) -> Exception:
        reasons = [{"Code": "None"}, {"Code": "None"}, {"Code": "TransactionConflict", "Message": message}]
        error = {"Error": {"Code": "TransactionCanceledException", "Message": message}, "CancellationReasons": reasons}
        return ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]

    with recorded_calls(fail_at=1) as log:
        log.fault = in_flight
        assert sign_up("carol", email="carol@example.com")[0] == 201
    assert log.calls == ["dynamodb:TransactWriteItems", "dynamodb:TransactWriteItems"]
    assert item(aws, "carol") is not None and item(aws, f"carol{QUEUE_SUFFIX}") is not None
    assert "carol" in email_keys(aws).values()


def test_an_enrolment_whose_key_is_taken_commits_without_it(aws: FakeAws) -> None:
    sign_up("carol", email="carol@example.com")
    with recorded_calls() as log:
        assert sign_up("dave", email="CAROL@example.com")[0] == 201
    assert log.calls == ["dynamodb:TransactWriteItems", "dynamodb:TransactWriteItems"]
    assert item(aws, "dave") is not None and item(aws, f"dave{QUEUE_SUFFIX}") is not None
    assert list(email_keys(aws).values()) == ["carol"]  # left to its owner
    with recorded_calls() as log:
        assert sign_up("dave", email="CAROL@example.com")[0] == 201  # the retry: nothing written
    assert log.calls == ["dynamodb:TransactWriteItems"]
