"""Helpers for the reward calculator's handler tests: API Gateway events, calls, table reads, metrics."""

import base64
import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.core.botocore_stubber import BotocoreStubber

from referrals import contract as c
from referrals import exact_json
from reward_calculator import handler as reward
from tests.lambdas.fake_aws import FakeAws


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "reward-calculation-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reward-calculation-test"
    aws_request_id: str = "lambda-request-1"


def signup_event(body: dict | str | None, *, base64_encoded: bool = False, request_id: str = "api-request-1") -> dict:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode()).decode()
    return {
        "resource": "/signup",
        "path": "/signup",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "pathParameters": None,
        "requestContext": {"requestId": request_id, "stage": "test"},
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def stats_event(code: Any, request_id: str = "api-request-2") -> dict:
    return {
        "resource": "/referrers/{code}",
        "path": f"/referrers/{code}",
        "httpMethod": "GET",
        "headers": {},
        "pathParameters": {"code": code},
        "requestContext": {"requestId": request_id, "stage": "test"},
        "body": None,
        "isBase64Encoded": False,
    }


def invoke(event: dict) -> tuple[int, Any]:
    """Run the handler; returns the status and the body parsed with exact decimals."""
    response = reward.handler(event, LambdaContext())
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], exact_json.loads(response["body"])


def sign_up(user_id: str, code: str | None = None, email: str | None = None) -> tuple[int, Any]:
    body: dict[str, str] = {"userId": user_id}
    if code is not None:
        body["referralCode"] = code
    if email is not None:
        body["email"] = email
    return invoke(signup_event(body))


def all_items(aws: FakeAws) -> list[dict]:
    dynamodb = boto3.resource("dynamodb", region_name=aws.region)
    return dynamodb.Table(aws.referral_table).scan(ConsistentRead=True)["Items"]


def item(aws: FakeAws, user_id: str, timestamp: int = c.PROFILE_TIMESTAMP) -> dict | None:
    table = boto3.resource("dynamodb", region_name=aws.region).Table(aws.referral_table)
    key = {c.USER_ID: user_id, c.REFERRAL_TIMESTAMP: timestamp}
    return table.get_item(Key=key, ConsistentRead=True).get("Item")


def referral_items(aws: FakeAws) -> list[dict]:
    return [i for i in all_items(aws) if i[c.REFERRAL_TIMESTAMP] != c.PROFILE_TIMESTAMP]


def referral_of(aws: FakeAws, user_id: str) -> dict:
    (found,) = [i for i in referral_items(aws) if i[c.USER_ID] == user_id]
    return found


def emitted_metrics(stdout: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, dimensions, value) of every EMF metric printed to stdout."""
    found = []
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            assert directive["Namespace"] == "ReferralProgram"
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append((metric["Name"], dimensions, value))
    return found


@contextmanager
def captured_logs() -> Iterator[list[dict]]:
    """The handler's structured log records while inside the block (its stream is bound at import)."""
    stream = io.StringIO()
    records: list[dict] = []
    handler = reward.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    try:
        yield records
    finally:
        handler.setStream(previous)
        records.extend(json.loads(line) for line in stream.getvalue().splitlines())


def one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets the reward handler serve simultaneous signups on threads against moto.

    moto's in-process backends are not thread-safe (a failed transaction restores a deep copy of
    the whole table); serialising them emulates a service that applies one request at a time.
    Powertools' metric store is shared by every thread (a Lambda runs one request at a time), so
    the handler's metrics are switched off.
    """
    serialise = threading.Lock()
    emulate = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with serialise:
            return emulate(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialised)
    monkeypatch.setattr(reward, "metrics", SimpleNamespace(metric_set={}, add_metric=lambda **_: None))
