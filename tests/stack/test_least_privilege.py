"""Least privilege, proven: each function's policy grants exactly what its handler tests call.

tests/lambdas records every AWS call made by Lambda code, as the IAM action and the resource it
touched (tests/lambdas/aws_calls.py). Here that record meets the synthesized policy: nothing
called that is not granted, nothing granted that is never called, except what AWS itself does
with the role (listed below with the reason).
"""

import re
from fnmatch import fnmatchcase

import pytest

from tests.lambdas.aws_calls import SESSION_ACTIONS, SESSION_ERRORS
from tests.stack.conftest import Synth

ROLES = {
    "reward-calculator": "reward-calculation-dev-role",
    "payout-processor": "payout-processing-dev-role",
    "event-relay": "event-relay-dev-role",
    "referral-admin": "referral-admin-dev-role",
}
# Granted, yet never called by our code: AWS uses the role on the function's behalf.
USED_BY_AWS_NOT_BY_OUR_CODE = {
    ("logs:CreateLogStream", "log-group:*"): "the Lambda runtime writes the function's logs",
    ("logs:PutLogEvents", "log-group:*"): "the Lambda runtime writes the function's logs",
    ("xray:PutTraceSegments", "*"): "active tracing: Lambda sends the trace segments",
    ("xray:PutTelemetryRecords", "*"): "active tracing: Lambda sends telemetry",
    ("sqs:SendMessage", "payout-dlq"): "Lambda sends failed asynchronous payout runs to the dead-letter queue",
    ("sqs:SendMessage", "relay-dlq"): "the event source mapping records a batch it gave up on in the relay's DLQ",
    **{
        (action, f"{table}/stream/*"): "Lambda's event source mapping polls the table's stream with the relay's role"
        for table in ("referral-table", "idempotency-table")
        for action in (
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
        )
    },
    ("dynamodb:ListStreams", "*"): "Lambda's event source mapping looks up the streams with the relay's role",
}
# Resources that AWS offers no resource-level permission for.
NO_RESOURCE_LEVEL_PERMISSION = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
REPORT: list[str] = []  # printed at the end of the session (tests/stack/conftest.py)
TOKEN = re.compile(r"\$\{aws_[a-z0-9_]+\.[^_.]+_(?P<name>[a-z0-9-]+)_[0-9A-F]{8}\.[a-z_]+\}")


def granted(synth: Synth, role_name: str) -> set[tuple[str, str]]:
    """(action, resource pattern) pairs of the role's policy, resources as the stack's logical names."""
    pairs = set()
    for statement in synth.role_policy(role_name)["Statement"]:
        assert statement["Effect"] == "Allow"
        for resource in statement["Resource"]:
            for action in statement["Action"]:
                pairs.add((action, TOKEN.sub(lambda m: m["name"], resource)))
    return pairs


def _allows(grant: tuple[str, str], call: tuple[str, str]) -> bool:
    return grant[0] == call[0] and fnmatchcase(call[1], grant[1])


@pytest.mark.run_last
@pytest.mark.parametrize("function", sorted(ROLES))
def test_policy_grants_exactly_what_the_handler_calls(synth: Synth, function: str) -> None:
    called = SESSION_ACTIONS.get(function)
    if not called:
        pytest.skip(f"the {function} handler tests did not run in this session (run the whole suite)")
    assert not SESSION_ERRORS, SESSION_ERRORS
    grants = granted(synth, ROLES[function])
    REPORT.append(f"{function}: called by the handler tests ({len(called)})")
    REPORT.extend(f"  {action:30} {resource}" for action, resource in sorted(called))
    REPORT.append(f"{function}: granted by the stack ({len(grants)})")
    for action, resource in sorted(grants):
        reason = USED_BY_AWS_NOT_BY_OUR_CODE.get((action, resource))
        REPORT.append(f"  {action:30} {resource}" + (f"  <- not called: {reason}" if reason else ""))

    not_granted = {call for call in called if not any(_allows(g, call) for g in grants)}
    assert not not_granted, f"called but not granted: {sorted(not_granted)}"
    never_called = {
        g
        for g in grants
        if g not in USED_BY_AWS_NOT_BY_OUR_CODE and not any(_allows(g, call) for call in called)
    }
    assert not never_called, f"granted but never called: {sorted(never_called)}"
    for action, resource in grants:
        assert resource != "*" or action in NO_RESOURCE_LEVEL_PERMISSION, f"{action} on *"
        assert "unknown:" not in resource


def test_scheduler_may_only_invoke_the_payout_function(synth: Synth) -> None:
    grants = granted(synth, "payout-scheduler-dev-role")
    assert grants == {("lambda:InvokeFunction", "function"), ("sqs:SendMessage", "schedule-dlq")}
