"""Helpers for the admin handler's tests: API Gateway events, calls, and rewards seeded in each
lifecycle position (a signup writes a payable reward, rewritten here into the position wanted)."""

import base64
import json
from decimal import Decimal
from typing import Any

import boto3

from referral_admin import handler as admin
from referrals import contract as c
from referrals import exact_json
from referrals.payout_run import Reward
from referrals.payout_store import DynamoPayoutStore, PayoutResources
from tests.lambdas.aws_calls import acting_as
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import LambdaContext, referral_of, sign_up

CALLER = "arn:aws:sts::123456789012:assumed-role/host-backend/session"
PAYOUT_ID = "payout-2026-11"
# Where a seeded reward stands: the lifecycle's eight positions and today's `pending` items.
POSITIONS = (
    "legacy_pending",
    "waiting",
    "flagged",
    "flagged_qualified",
    "payable",
    "paid",
    "reversed",
    "reversed_qualified",
    "clawed_back",
)


def admin_event(
    user_id: Any,
    action: str,
    body: dict | str | None = None,
    *,
    base64_encoded: bool = False,
    caller: str | None = CALLER,
    method: str = "POST",
) -> dict:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode()).decode()
    identity = {} if caller is None else {"userArn": caller}
    return {
        "resource": f"/referrals/{{userId}}/{action}",
        "path": f"/referrals/{user_id}/{action}",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "pathParameters": {"userId": user_id},
        "requestContext": {"requestId": "api-request-1", "stage": "test", "identity": identity},
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def invoke(event: dict) -> tuple[int, Any]:
    """Run the admin handler; returns the status and the body parsed with exact decimals."""
    response = admin.handler(event, LambdaContext(function_name="referral-admin-test"))
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], exact_json.loads(response["body"])


def act(user_id: str, action: str, reason: str = "refunded order 4411") -> tuple[int, Any]:
    return invoke(admin_event(user_id, action, {"reason": reason} if action == "reverse" else None))


def seed(aws: FakeAws, position: str, user_id: str = "bob", referrer_id: str = "alice") -> dict:
    """`user_id` referred by `referrer_id`, their reward in `position`; returns the referral item."""
    if position in ("reversed", "reversed_qualified", "clawed_back"):
        before = {"reversed": "waiting", "reversed_qualified": "payable", "clawed_back": "paid"}[position]
        seed(aws, before, user_id, referrer_id)
        assert act(user_id, "reverse", "seeded reversal")[0] == 200
        return referral_of(aws, user_id)
    with acting_as("reward-calculator"):  # the seeding signups are the reward function's calls
        assert sign_up(referrer_id)[0] == 201
        assert sign_up(user_id, referrer_id)[0] == 200
    timestamp = int(referral_of(aws, user_id)[c.REFERRAL_TIMESTAMP])
    flagged = {c.STATUS: c.STATUS_FLAGGED, c.FLAGGED_KEY: c.FLAGGED_KEY_VALUE, c.REVIEW_SIGNALS: {"email_of_referrer"}}
    changes: dict[str, dict] = {
        "legacy_pending": {c.STATUS: c.STATUS_PENDING, c.PENDING_KEY: c.PENDING_KEY_VALUE},
        "waiting": {c.STATUS: c.STATUS_WAITING},
        "flagged": flagged,
        "flagged_qualified": flagged | {c.QUALIFIED_AT: timestamp},
        "payable": {
            c.STATUS: c.STATUS_PAYABLE,
            c.QUALIFIED_AT: timestamp,
            c.PAYABLE_KEY: c.PAYABLE_KEY_VALUE,
            c.PAYABLE_AT: timestamp,
        },
        # As the payout's claim leaves it.
        "paid": {c.STATUS: c.STATUS_PAID, c.PAYOUT_ID: PAYOUT_ID, "paid_at": timestamp + 1},
    }
    if position != "payable":
        # Whatever the signup wrote that the position does not have goes.
        written = (c.PENDING_KEY, c.QUALIFIED_AT, c.PAYABLE_KEY, c.PAYABLE_AT, c.FLAGGED_KEY, c.REVIEW_SIGNALS)
        remove = tuple(name for name in written if name not in changes[position])
        rewrite(aws, user_id, timestamp, changes[position], remove=remove)
    return referral_of(aws, user_id)


def rewrite(aws: FakeAws, user_id: str, timestamp: int, values: dict, remove: tuple[str, ...] = ()) -> None:
    names = {f"#a{n}": name for n, name in enumerate(values)}
    expression = "SET " + ", ".join(f"#a{n} = :v{n}" for n in range(len(values)))
    if remove:
        names |= {f"#r{n}": name for n, name in enumerate(remove)}
        expression += " REMOVE " + ", ".join(f"#r{n}" for n in range(len(remove)))
    table(aws).update_item(
        Key={c.USER_ID: user_id, c.REFERRAL_TIMESTAMP: timestamp},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{n}": value for n, value in enumerate(values.values())},
    )


def claim(aws: FakeAws, user_id: str, timestamp: int, referrer_id: str = "alice") -> bool:
    """The payout's claim of one reward, as referrals/payout_store.py writes it; False: refused."""
    store = DynamoPayoutStore(PayoutResources(aws.referral_table, aws.idempotency_table, aws.bucket))
    reward = Reward(user_id, timestamp, referrer_id, Decimal("10.00"))
    with acting_as("payout-processor"):
        return store.claim([reward], PAYOUT_ID, timestamp + 1) == [reward]


def table(aws: FakeAws) -> Any:
    return boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table)


def queue_event(query: dict[str, list[str]] | None, caller: str | None = CALLER) -> dict:
    identity = {} if caller is None else {"userArn": caller}
    return {
        "resource": "/referrals",
        "path": "/referrals",
        "httpMethod": "GET",
        "headers": {},
        "pathParameters": None,
        "queryStringParameters": None if query is None else {name: values[-1] for name, values in query.items()},
        "multiValueQueryStringParameters": query,
        "requestContext": {"requestId": "api-request-2", "stage": "test", "identity": identity},
        "body": None,
        "isBase64Encoded": False,
    }
