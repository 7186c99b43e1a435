"""Record (and optionally fail) every AWS API call the Lambda code makes through referrals.aws_clients.

Hooks botocore's `before-call` event of each cached client: it fires once per API operation,
before botocore's own retries, so a count is the number of operations our code asked for.

Every call made from Lambda code during the handler tests is also kept, per function, as the
IAM action and the resource it touched; tests/stack/test_least_privilege.py compares that with
the policy the stack grants each function.
"""

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from referrals import aws_clients

SERVICES = ("dynamodb", "kms", "s3", "sns")
LAMBDAS_DIR = str(Path(__file__).resolve().parents[2] / "lambdas")
# Function environment variable -> the stack's logical name of the resource it names.
RESOURCE_VARIABLES = {
    "REFERRAL_TABLE_NAME": "referral-table",
    "IDEMPOTENCY_TABLE_NAME": "idempotency-table",
    "REPORTS_BUCKET_NAME": "reports-bucket",
    "SNS_TOPIC_ARN": "reward-topic",
    "REVIEW_EMAIL_KEY_ARN": "review-email-key",
}
TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}

# function ("reward-calculator" / "payout-processor" / "event-relay") -> {(IAM action, logical resource)}
SESSION_ACTIONS: dict[str, set[tuple[str, str]]] = defaultdict(set)
SESSION_ERRORS: list[str] = []  # calls that could not be mapped to an IAM action
# Innermost last: the function that the calls made inside acting_as() blocks are recorded for.
_ACTING_AS: list[str] = []


class InjectedFault(Exception):
    """Raised in place of an AWS call, to simulate a crash at that point."""


@dataclass
class CallLog:
    calls: list[str] = field(default_factory=list)  # "service:Operation", e.g. "dynamodb:GetItem"
    fail_at: int | None = None  # 1-based index of the call to fail, if any
    fault: Callable[[str], Exception] = InjectedFault

    def before_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise self.fault(f"injected fault at call {self.fail_at}: {name}")

    @property
    def actions(self) -> set[str]:
        return set(self.calls)


@contextmanager
def _hooked(handler: Callable[..., None], unique_id: str, event: str = "before-call") -> Iterator[None]:
    clients = [aws_clients.client(service) for service in SERVICES]
    for client in clients:
        client.meta.events.register(event, handler, unique_id=unique_id)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, unique_id=unique_id)


@contextmanager
def recorded_calls(fail_at: int | None = None) -> Iterator[CallLog]:
    log = CallLog(fail_at=fail_at)
    with _hooked(log.before_call, unique_id=f"aws-call-log-{id(log)}"):
        yield log


@contextmanager
def iam_actions_recorded_for(function: str) -> Iterator[None]:
    """Keep the IAM action and resource of each call made by Lambda code (not by the test itself)."""

    def record(model: Any, params: dict, **_: Any) -> None:
        if not _called_from_lambda_code():
            return
        caller = _ACTING_AS[-1] if _ACTING_AS else function
        try:
            SESSION_ACTIONS[caller].update(iam_actions(model.service_model.endpoint_prefix, model.name, params))
        except Exception as error:  # never change the handler's behaviour; report it later
            SESSION_ERRORS.append(f"{function}: {model.name}: {error!r}")

    # before-parameter-build sees the API parameters as our code passed them.
    with _hooked(record, unique_id=f"iam-actions-{function}", event="before-parameter-build"):
        yield


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Record the calls made in the block for `function`, whichever test module makes them.

    A relay test runs the reward and payout functions to produce the changes it relays, and a
    reward or payout test may relay what its function committed: each function's calls must be
    checked against its own role. Not thread-local on purpose: threads started inside the block
    (simultaneous signups) act for the same function.
    """
    _ACTING_AS.append(function)
    try:
        yield
    finally:
        _ACTING_AS.pop()


@contextmanager
def transaction_tokens() -> Iterator[list[str | None]]:
    """The ClientRequestToken of every TransactWriteItems call made in the block (None: no token)."""
    tokens: list[str | None] = []

    def record(params: dict, **_: Any) -> None:
        tokens.append(params.get("ClientRequestToken"))

    with _hooked(record, unique_id=f"tokens-{id(tokens)}", event="before-parameter-build.dynamodb.TransactWriteItems"):
        yield tokens


def iam_actions(service: str, operation: str, params: dict) -> set[tuple[str, str]]:
    """What IAM authorizes for one API call: TransactWriteItems is authorized per item."""
    if service == "dynamodb" and operation == "TransactWriteItems":
        return {
            (f"dynamodb:{TRANSACTION_ACTIONS[kind]}", _logical(body["TableName"]))
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    if service == "dynamodb":
        resource = _logical(params["TableName"])
        if "IndexName" in params:
            resource += f"/index/{params['IndexName']}"
        return {(f"dynamodb:{operation}", resource)}
    if service == "s3":
        return {(f"s3:{operation}", f"{_logical(params['Bucket'])}/{params['Key']}")}
    if service == "sns":
        return {(f"sns:{operation}", _logical(params["TopicArn"]))}
    if service == "kms":
        return {(f"kms:{operation}", _logical(params["KeyId"]))}
    raise ValueError(f"no IAM mapping for {service}:{operation}; add one")


def _logical(name: str) -> str:
    for variable, logical in RESOURCE_VARIABLES.items():
        if os.environ.get(variable) == name:
            return logical
    return f"unknown:{name}"


def _called_from_lambda_code() -> bool:
    frame = sys._getframe(1)  # walking frames is the cheap way to see the caller
    while frame is not None:
        if frame.f_code.co_filename.startswith(LAMBDAS_DIR) and not frame.f_code.co_filename.endswith("aws_clients.py"):
            return True
        frame = frame.f_back  # type: ignore[assignment]  # None ends the walk
    return False


@contextmanager
def updates_always_in_flight() -> Iterator[None]:
    """Every UpdateItem refused as DynamoDB refuses a write to an item a transaction holds
    (moto never does). Enter it after recorded_calls, so the log still sees each refused call."""

    def refuse(model: Any, **_: Any) -> None:
        if model.name == "UpdateItem":
            raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "in flight"}}, "UpdateItem")

    with _hooked(refuse, unique_id="updates-always-in-flight"):
        yield
