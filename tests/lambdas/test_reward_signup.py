"""POST /signup against moto: enrolment, referral, retries, conflicts, and the cost of the happy path."""

import json
from decimal import Decimal

import boto3
import pytest

from referrals import aws_clients
from referrals import contract as c
from referrals.referral_store import EMAIL_KEY_SUFFIX, OWNER, PLANNED_COUNT, QUEUE_SUFFIX, SERVED_AT
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls, transaction_tokens
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.relay_api import Relay
from tests.lambdas.reward_api import (
    LambdaContext,
    all_items,
    captured_logs,
    emitted_metrics,
    invoke,
    item,
    referral_items,
    referral_of,
    sign_up,
    signup_event,
)


def queue_of(aws: FakeAws, user_id: str) -> dict | None:
    """The user's signup queue item (referral_store.py)."""
    return item(aws, f"{user_id}{QUEUE_SUFFIX}")


def tickets_taken(aws: FakeAws, referrer: str) -> int:
    queue = queue_of(aws, referrer)
    return int(queue[c.SIGNUP_TICKETS]) if queue else 0


def stored_data(aws: FakeAws) -> list[dict]:
    """Every item but the signup queues, without the queue's marks on profiles (they schedule
    commits; no count, amount or answer depends on them)."""
    marks = (c.SERVED_TICKET, SERVED_AT)
    return [
        {k: v for k, v in i.items() if k not in marks}
        for i in all_items(aws)
        if not i[c.USER_ID].endswith(QUEUE_SUFFIX)
    ]


def test_enrolment_creates_a_profile_whose_id_is_the_code(aws: FakeAws, capsys: pytest.CaptureFixture) -> None:
    with recorded_calls() as log:
        status, body = sign_up("alice", email="alice@example.com")
    assert status == 201
    assert body == {"message": "enrolled; share your referral code", "referralCode": "alice"}
    profile = item(aws, "alice")
    assert profile is not None
    assert (profile[c.REFERRAL_COUNT], profile[c.TOTAL_REWARDS], profile[c.EMAIL]) == (0, 0, "alice@example.com")
    assert ("Enrolments", {"service": "reward-calculator"}, 1.0) in emitted_metrics(capsys.readouterr().out)
    # The container's first e-mail derives the e-mail key secret (once); then one transaction: the
    # profile, the empty signup queue its first referral takes a ticket from, and alice's e-mail key.
    assert log.calls == ["kms:GenerateMac", "dynamodb:TransactWriteItems"]
    queue = queue_of(aws, "alice")
    assert queue is not None
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT]) == (0, 0)
    assert c.REFERRER_ID not in queue and c.PENDING_KEY not in queue  # no index, payout or message sees it
    (email_key,) = [i for i in all_items(aws) if i[c.USER_ID].endswith(EMAIL_KEY_SUFFIX)]
    assert email_key == {c.USER_ID: email_key[c.USER_ID], c.REFERRAL_TIMESTAMP: 0, OWNER: "alice"}


def test_identical_enrolment_retry_answers_201_and_writes_nothing(aws: FakeAws, capsys: pytest.CaptureFixture) -> None:
    sign_up("alice")
    capsys.readouterr()
    before = all_items(aws)
    with recorded_calls() as log:
        assert sign_up("alice") == (201, {"message": "enrolled; share your referral code", "referralCode": "alice"})
    assert log.calls == ["dynamodb:TransactWriteItems"]  # its profile's condition fails: nothing written
    assert all_items(aws) == before
    assert [m for m in emitted_metrics(capsys.readouterr().out) if m[0] == "Enrolments"] == []


def test_referral_records_everything_in_one_transaction(aws: FakeAws, capsys: pytest.CaptureFixture) -> None:
    sign_up("alice")
    status, body = sign_up("bob", "alice", "bob@example.com")
    assert (status, body) == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})

    referrer = item(aws, "alice")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (1, 10)
    referral = referral_of(aws, "bob")
    assert referral[c.REFERRER_ID] == "alice"
    assert referral[c.EMAIL] == "bob@example.com"
    assert referral[c.REWARD_AMOUNT] == Decimal(10)
    assert referral[c.REFERRAL_NUMBER] == 1
    # Qualified at signup and no hold (the defaults): payable at once, in the payout's index.
    assert referral[c.STATUS] == c.STATUS_PAYABLE
    assert referral[c.QUALIFIED_AT] == referral[c.PAYABLE_AT] == referral[c.REFERRAL_TIMESTAMP]
    assert referral[c.PAYABLE_KEY] == c.PAYABLE_KEY_VALUE
    assert {c.PENDING_KEY, c.FLAGGED_KEY, c.REVIEW_SIGNALS}.isdisjoint(referral)  # only legacy items are pending
    assert referral[c.SIGNUP_DATE].endswith("Z") and "T" in referral[c.SIGNUP_DATE]
    new_profile = item(aws, "bob")
    assert new_profile is not None
    assert new_profile[c.REFERRED_BY] == "alice"
    assert new_profile[c.REFERRED_AT] == referral[c.REFERRAL_TIMESTAMP]
    assert new_profile[c.REFERRAL_COUNT] == 0  # the referred user can refer others
    assert queue_of(aws, "bob") is not None  # from the same transaction: bob's queue is ready
    queue = queue_of(aws, "alice")
    assert queue is not None
    assert (queue[c.SIGNUP_TICKETS], queue[PLANNED_COUNT], referrer[c.SERVED_TICKET]) == (1, 1, 1)

    metrics = emitted_metrics(capsys.readouterr().out)
    assert ("Signups", {"service": "reward-calculator"}, 1.0) in metrics
    assert ("RewardAmount", {"service": "reward-calculator"}, 10.0) in metrics


def test_notification_is_exact_json_with_an_event_type_attribute(aws: FakeAws, relay: Relay, monkeypatch) -> None:
    monkeypatch.setattr(reward, "TIERS", reward.parse_tiers('{"1": "12.50"}'))
    sign_up("alice")
    sign_up("bob", "alice")
    [message] = relay.messages()
    assert message.text == (
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":12.50,"referralCount":1,'
        '"status":"payable","eventId":"referral.rewarded:bob"}'
    )
    assert (message.attribute_type, message.event_type) == ("String", "referral.rewarded")


def test_happy_path_makes_exactly_two_aws_calls(aws: FakeAws) -> None:
    sign_up("alice")
    with recorded_calls() as log:
        assert sign_up("bob", "alice")[0] == 200
    # The first call takes a ticket of the referrer's signup queue, which says which count to
    # commit on (an UpdateItem of the queue item); the commit is the notification too (the
    # stream relay publishes it).
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]


def test_the_ticket_is_taken_on_the_queue_item_which_no_commit_names(aws: FakeAws) -> None:
    """On DynamoDB a write to an item that a transaction is committing is refused: the ticket
    must not be written to the referrer's profile, which every commit holds."""
    sign_up("alice")
    keys: list[tuple[str, str]] = []

    def record(model, params: dict, **_) -> None:
        if model.name == "UpdateItem":
            keys.append(("ticket", params["Key"][c.USER_ID]["S"]))
        if model.name == "TransactWriteItems":
            for action in params["TransactItems"]:
                (body,) = action.values()
                keys.append(("commit", (body.get("Key") or body["Item"])[c.USER_ID]["S"]))

    dynamodb = aws_clients.client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb", record, unique_id="keys")
    try:
        sign_up("bob", "alice")
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id="keys")
    ticket = [key for kind, key in keys if kind == "ticket"]
    committed = {key for kind, key in keys if kind == "commit"}
    assert ticket == [f"alice{QUEUE_SUFFIX}"]
    assert committed == {"bob", f"bob{QUEUE_SUFFIX}", "alice"}  # bob's profile, queue and referral item


def test_a_profile_from_before_queues_opens_its_queue_at_its_first_referral(aws: FakeAws) -> None:
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={c.USER_ID: "old", c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP, c.REFERRAL_COUNT: 7, c.TOTAL_REWARDS: 85}
    )
    with recorded_calls() as log:
        assert sign_up("bob", "old") == (200, {"message": "referral recorded", "rewardAmount": 15, "referralCount": 8})
    # No queue to take a ticket from: read the profile, open the queue with this ticket, commit.
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:TransactWriteItems"]
    with recorded_calls() as log:
        assert sign_up("carol", "old")[1]["referralCount"] == 9
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems"]


def test_each_signup_transaction_carries_its_own_idempotency_token(aws: FakeAws) -> None:
    """A commit whose answer was lost and that botocore retries succeeds again (and answers 200 with
    the referral it made), instead of failing on the conditions it had already satisfied."""
    sign_up("alice")
    with transaction_tokens() as tokens:
        sign_up("bob", "alice")
        sign_up("carol", "alice")
    assert len(tokens) == 2
    assert None not in tokens
    assert len(set(tokens)) == 2


def test_first_referral_of_a_referrer_without_counters(aws: FakeAws) -> None:
    # A profile from before counters existed (or made by hand): only its keys.
    boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table).put_item(
        Item={c.USER_ID: "legacy", c.REFERRAL_TIMESTAMP: c.PROFILE_TIMESTAMP}
    )
    assert sign_up("bob", "legacy") == (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
    assert sign_up("carol", "legacy")[1]["referralCount"] == 2
    referrer = item(aws, "legacy")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (2, 20)


def test_tier_boundaries_with_exact_amounts(aws: FakeAws) -> None:
    sign_up("ref")
    answers = {n: sign_up(f"user-{n}", "ref")[1] for n in range(1, 27)}
    expected = {1: 10, 4: 10, 5: 15, 9: 15, 10: 20, 24: 20, 25: 25, 26: 25}
    for n, amount in expected.items():
        assert answers[n] == {"message": "referral recorded", "rewardAmount": amount, "referralCount": n}
    referrer = item(aws, "ref")
    assert referrer is not None
    assert referrer[c.TOTAL_REWARDS] == 4 * 10 + 5 * 15 + 15 * 20 + 2 * 25


def test_same_event_delivered_five_times_pays_once(aws: FakeAws, relay: Relay, capsys: pytest.CaptureFixture) -> None:
    sign_up("alice")
    capsys.readouterr()
    event = signup_event({"userId": "bob", "referralCode": "alice", "email": "bob@example.com"})
    responses = [reward.handler(event, LambdaContext()) for _ in range(5)]
    assert all(response == responses[0] for response in responses)
    assert json.loads(responses[0]["body"]) == {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1}
    assert len(referral_items(aws)) == 1
    referrer = item(aws, "alice")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (1, 10)
    assert len(relay.messages()) == 1
    assert [m for m in emitted_metrics(capsys.readouterr().out) if m[0] == "Signups"] == [
        ("Signups", {"service": "reward-calculator"}, 1.0)
    ]


def test_identical_retry_reads_but_writes_and_publishes_nothing(aws: FakeAws, relay: Relay) -> None:
    sign_up("alice")
    sign_up("bob", "alice")
    relay.messages()
    before = stored_data(aws)
    with recorded_calls() as log:
        assert sign_up("bob", "alice")[0] == 200
    # The failed transaction carries bob's profile (ALL_OLD), which points at the referral item;
    # then the retry gives its ticket back, so that the queue plans the next signup without it.
    assert log.calls == [
        "dynamodb:UpdateItem",
        "dynamodb:TransactWriteItems",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    # Only the queue moved: the retry took a ticket before the commit told it who bob was.
    assert stored_data(aws) == before
    assert tickets_taken(aws, "alice") == 2
    queue = queue_of(aws, "alice")
    assert queue is not None
    assert queue[PLANNED_COUNT] == 1  # the count alice has: the ticket was given back
    assert relay.messages() == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("bob", "alice"), ("bob", "carol")),  # another code
        (("bob", None), ("bob", "alice")),  # enrolled first, then tries a code
        (("bob", "alice"), ("bob", None)),  # referred first, then enrols
    ],
)
def test_a_user_who_signed_up_differently_gets_409(aws: FakeAws, relay: Relay, first: tuple, second: tuple) -> None:
    sign_up("alice")
    sign_up("carol")
    sign_up(*first)
    before = stored_data(aws)
    tickets_before = {code: tickets_taken(aws, code) for code in ("alice", "carol")}
    relay.messages()
    assert sign_up(*second) == (409, {"error": "userId 'bob' has already signed up"})
    assert stored_data(aws) == before
    # A refused referral leaves one trace: the ticket it took in the referrer's queue (and gave
    # back: the queue's planned count is the referrer's count again).
    code = second[1]
    if code is not None:
        queue = queue_of(aws, code)
        referrer = item(aws, code)
        assert queue is not None and referrer is not None
        assert queue[PLANNED_COUNT] == referrer[c.REFERRAL_COUNT]
    assert {code: tickets_taken(aws, code) for code in ("alice", "carol")} == tickets_before | (
        {} if code is None else {code: tickets_before[code] + 1}
    )
    assert relay.messages() == []


def test_unknown_referral_code_is_404_and_writes_nothing(aws: FakeAws, capsys: pytest.CaptureFixture) -> None:
    with recorded_calls() as log:
        assert sign_up("bob", "nobody") == (404, {"error": "referralCode 'nobody' does not exist"})
    # The ticket is conditional on the queue existing; without one, the profile is read (a queue
    # could be missing next to an old profile): none either. Nothing written.
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    assert all_items(aws) == []
    rejected = ("SignupsRejected", {"service": "reward-calculator", "reason": "unknown_referrer"}, 1.0)
    assert rejected in emitted_metrics(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("event_body", "base64_encoded", "error"),
    [
        (None, False, "request body is required (a JSON object)"),
        ("{oops", False, "request body must be valid UTF-8 JSON"),
        ("%%%not-base64%%%", True, "request body is marked base64-encoded but is not valid base64"),
        ("[1, 2]", False, "request body must be a JSON object"),
        (json.dumps({"userId": "u", "email": "x" * 5000}), False, "request body must be at most 4096 bytes"),
        ({"userId": "bad id"}, False, "userId must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'"),
        ({"userId": "u1", "referralCode": 5}, False, "referralCode must be a string"),
        ({"userId": "u1", "email": "nope"}, False, "email must be a plausible address"),
        ({"userId": "u1", "referralCode": "u1"}, False, "referralCode must not be the user's own userId"),
    ],
)
def test_bad_input_is_400_with_no_aws_call(
    aws: FakeAws, capsys: pytest.CaptureFixture, event_body, base64_encoded: bool, error: str
) -> None:
    event = signup_event(event_body)
    if base64_encoded:
        event["isBase64Encoded"] = True
    with recorded_calls() as log:
        status, body = invoke(event)
    assert status == 400
    assert body["error"].startswith(error)
    assert log.calls == []
    rejected = ("SignupsRejected", {"service": "reward-calculator", "reason": "invalid_request"}, 1.0)
    assert rejected in emitted_metrics(capsys.readouterr().out)


def test_base64_encoded_body_is_accepted(aws: FakeAws) -> None:
    assert invoke(signup_event({"userId": "alice"}, base64_encoded=True))[0] == 201


def test_unknown_routes_and_methods(aws: FakeAws) -> None:
    wrong_method = signup_event({"userId": "alice"}) | {"httpMethod": "GET"}
    assert invoke(wrong_method) == (405, {"error": "method not allowed; use POST"})
    unknown = signup_event({"userId": "alice"}) | {"resource": "/admin", "path": "/admin"}
    assert invoke(unknown) == (404, {"error": "no such route"})
    assert all_items(aws) == []


def test_unexpected_error_is_a_logged_500_with_the_request_id(aws: FakeAws) -> None:
    sign_up("alice")
    with captured_logs() as logs, recorded_calls(fail_at=1):
        status, body = invoke(signup_event({"userId": "bob", "referralCode": "alice"}, request_id="req-500"))
    assert (status, body) == (500, {"error": "internal error", "requestId": "req-500"})
    [error] = [record for record in logs if record["level"] == "ERROR"]
    assert error["correlation_id"] == "req-500"
    assert "InjectedFault" in error["exception"]
    assert item(aws, "bob") is None
