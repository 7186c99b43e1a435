"""A deployment at a glance: its outputs, its alarms in ALARM, its dead-letter queues, its last payout."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from referrals_cli.aws import Aws
from referrals_cli.months import months_before
from referrals_cli.outputs import Outputs
from referrals_cli.payouts import RunRecord, latest_run

# The outputs an operator looks for first, in this order.
SUMMARY_OUTPUTS = (
    "api-endpoint",
    "referral-table-name",
    "idempotency-table-name",
    "s3-bucket",
    "reward-calc-lambda-name",
    "payout-lambda-name",
    "event-relay-lambda-name",
    "admin-function-name",  # the reward lifecycle's admin routes (shown when the stack has them)
    "admin-caller-policy-arn",
    "sns-topic",
    "ops-topic-arn",
    "dashboard-url",
)
# Output -> what lands in that queue.
DEAD_LETTER_QUEUES = {
    "dlq-url": "payout runs that failed every asynchronous retry",
    "schedule-dlq-url": "schedule events Scheduler could not deliver",
    "relay-dlq-url": "stream batches the event relay gave up on",
}
# How far back `status` looks for the last payout run.
RUN_LOOKBACK_MONTHS = 12


@dataclass(frozen=True)
class Alarm:
    name: str
    reason: str
    since: datetime | None


@dataclass(frozen=True)
class QueueDepth:
    output: str
    url: str
    holds: str  # what the queue collects
    visible: int  # ApproximateNumberOfMessages
    in_flight: int  # ApproximateNumberOfMessagesNotVisible


@dataclass(frozen=True)
class Status:
    outputs: dict[str, str]
    region: str
    alarms: list[Alarm]
    queues: list[QueueDepth]
    last_run: RunRecord | None


DESCRIBE_ALARMS_NAMES = 100  # AlarmNames per DescribeAlarms call


def deployment_status(aws: Aws, outputs: Outputs, now: datetime) -> Status:
    return Status(
        outputs={name: outputs[name] for name in SUMMARY_OUTPUTS if name in outputs.values},
        region=aws.region,
        alarms=alarms_in_alarm(aws.client("cloudwatch"), outputs.names("alarm-names")),
        queues=[
            queue_depth(aws.client("sqs"), name, outputs[name], holds) for name, holds in DEAD_LETTER_QUEUES.items()
        ],
        last_run=latest_run(
            aws.client("dynamodb"), outputs["idempotency-table-name"], months_before(now, RUN_LOOKBACK_MONTHS)
        ),
    )


def alarms_in_alarm(cloudwatch: Any, names: list[str]) -> list[Alarm]:
    """Which of the stack's alarms (the alarm-names output) are in ALARM. Asking for them by name
    is what the operator policy allows (cloudwatch:DescribeAlarms on these alarms only)."""
    alarms = []
    for start in range(0, len(names), DESCRIBE_ALARMS_NAMES):
        chunk = names[start : start + DESCRIBE_ALARMS_NAMES]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=chunk, StateValue="ALARM"):
            # Checked here too: moto ignores StateValue when AlarmNames is given.
            for alarm in (a for a in page.get("MetricAlarms", []) if a.get("StateValue") == "ALARM"):
                alarms.append(
                    Alarm(alarm["AlarmName"], alarm.get("StateReason", ""), alarm.get("StateUpdatedTimestamp"))
                )
    return sorted(alarms, key=lambda alarm: alarm.name)


def queue_depth(sqs: Any, output: str, url: str, holds: str) -> QueueDepth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return QueueDepth(
        output=output,
        url=url,
        holds=holds,
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )
