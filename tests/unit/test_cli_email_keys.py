"""`referrals backfill-email-keys`: the CLI's e-mail key is the reward function's, for every address;
the backfill puts each missing key once, leaves another user's key alone, and prints no address."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from typer.testing import CliRunner

from referrals import review_signals
from referrals_cli import email_keys
from referrals_cli.app import app
from referrals_cli.deployed_code import DeployedCode

REGION = "eu-west-1"
TABLE = "referral-tracking-test"
SECRET = bytes(range(32))

# Local parts as people write them: letters of any case and script, digits, dots, +tags, and the
# letters whose case folding is not lower() (dotless i, dotted I, long s, the Kelvin sign).
TRICKY = "abcXYZ019.+_-ßÉé\u0131\u0130\u017f\u212a"
LOCAL_PART = st.text(
    alphabet=st.sampled_from(TRICKY) | st.characters(codec="utf-8", categories=["L", "N"]),
    min_size=1,
    max_size=20,
)
DOMAIN = st.sampled_from(["gmail.com", "GMail.com", "googlemail.com", "GoogleMail.COM", "example.com", "Straße.de"])


@given(local=LOCAL_PART, domain=DOMAIN, secret=st.binary(min_size=32, max_size=64))
@settings(max_examples=500)
def test_the_cli_computes_exactly_the_reward_functions_key(local: str, domain: str, secret: bytes) -> None:
    address = f"{local}@{domain}"
    assert email_keys.normalized_email(address) == review_signals.normalized_email(address)
    assert email_keys.email_key(address, secret) == review_signals.email_key(address, secret)


@given(address=st.text(min_size=0, max_size=30))
def test_any_text_gets_the_same_key_or_is_refused_by_both(address: str) -> None:
    try:
        expected = review_signals.email_key(address, SECRET)
    except ValueError:
        with pytest.raises(email_keys.UnusableAddress):
            email_keys.email_key(address, SECRET)
    else:
        assert email_keys.email_key(address, SECRET) == expected


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name=REGION)
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "referral_timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "referral_timestamp", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        kms = session.client("kms")
        key_arn = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
        yield {"dynamodb": dynamodb, "kms": kms, "key_arn": key_arn}


def put(dynamodb: Any, user_id: str, timestamp: int, **attributes: str) -> None:
    item = {"user_id": {"S": user_id}, "referral_timestamp": {"N": str(timestamp)}}
    dynamodb.put_item(TableName=TABLE, Item=item | {name: {"S": value} for name, value in attributes.items()})


def key_items(dynamodb: Any) -> dict[str, str]:
    items = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {i["user_id"]["S"]: i["owner"]["S"] for i in items if i["user_id"]["S"].endswith("#email")}


def test_the_secret_is_the_mac_of_the_constant_message_under_the_hmac_key(aws: dict[str, Any]) -> None:
    secret = email_keys.email_key_secret(aws["kms"], aws["key_arn"])
    mac = aws["kms"].generate_mac(KeyId=aws["key_arn"], Message=b"referral-email-key/v1", MacAlgorithm="HMAC_SHA_256")
    assert secret == mac["Mac"]
    assert len(secret) == 32


def test_each_profile_gets_its_key_once_and_another_users_key_stays_theirs(aws: dict[str, Any]) -> None:
    dynamodb = aws["dynamodb"]
    put(dynamodb, "alice", 0, email="Alice@example.com")
    put(dynamodb, "bob", 0, email="b.o.b@gmail.com")
    put(dynamodb, "bobby", 0, email="bob+promo@googlemail.com")  # bob's mailbox: the first to claim it keeps it
    put(dynamodb, "carol", 0)  # no e-mail: nothing to key
    put(dynamodb, "dave", 0, email="not-an-address")  # stored before validation: no key
    put(dynamodb, "bob", 1796090400000, email="b.o.b@gmail.com", referrer_id="alice")  # a referral item: not a profile
    put(dynamodb, "bob#clawback", 0, referrer_id="alice", email="x@example.com")  # a ledger key: not a profile
    existing = email_keys.email_key("alice@example.com", SECRET)
    put(dynamodb, f"{existing}#email", 0, owner="alice")  # her signup claimed it already

    first = email_keys.backfill(dynamodb, TABLE, SECRET)
    keys_after_first = key_items(dynamodb)
    second = email_keys.backfill(dynamodb, TABLE, SECRET)

    bob_key = email_keys.email_key("bob@gmail.com", SECRET)
    assert keys_after_first == {f"{existing}#email": "alice", f"{bob_key}#email": keys_after_first[f"{bob_key}#email"]}
    assert keys_after_first[f"{bob_key}#email"] in ("bob", "bobby")  # scan order decides; the other is counted
    assert first.as_json() == {
        "scanned": 4,
        "written": 1,
        "alreadyThere": 1,
        "takenByAnotherUser": 1,
        "unusableEmail": 1,
    }
    assert second.as_json() == {**first.as_json(), "written": 0, "alreadyThere": 2}
    assert key_items(dynamodb) == keys_after_first  # the second run wrote nothing


def test_the_key_items_hold_only_the_key_and_the_owner(aws: dict[str, Any]) -> None:
    put(aws["dynamodb"], "erin", 0, email="erin@example.com")
    email_keys.backfill(aws["dynamodb"], TABLE, SECRET)
    [item] = [i for i in aws["dynamodb"].scan(TableName=TABLE)["Items"] if i["user_id"]["S"].endswith("#email")]
    assert set(item) == {"user_id", "referral_timestamp", "owner"}
    assert item["referral_timestamp"] == {"N": "0"}


def test_the_command_prints_counts_and_no_address(aws: dict[str, Any], tmp_path: Any, monkeypatch: Any) -> None:
    put(aws["dynamodb"], "frank", 0, email="Frank.Secret+x@example.org")
    outputs = {
        "referral-table-name": TABLE,
        "review-email-key-arn": aws["key_arn"],
        "sns-topic": f"arn:aws:sns:{REGION}:123456789012:reward-notifications-test",
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({name: {"value": value} for name, value in outputs.items()}))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    unused = DeployedCode(invoke=None, get=None, signed=None)  # type: ignore[arg-type]

    shown = CliRunner().invoke(app, ["--outputs-file", str(path), "backfill-email-keys", "--json"], obj=unused)
    table = CliRunner().invoke(app, ["--outputs-file", str(path), "backfill-email-keys"], obj=unused)

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {
        "scanned": 1,
        "written": 1,
        "alreadyThere": 0,
        "takenByAnotherUser": 0,
        "unusableEmail": 0,
    }
    assert table.exit_code == 0, table.output
    assert "already there            1" in table.stdout
    for output in (shown.output, table.output):
        assert "frank.secret" not in output.casefold()
        assert "example.org" not in output
