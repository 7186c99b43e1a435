"""The monthly payout: an EventBridge Scheduler schedule that invokes the payout function."""

import json

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetDeadLetterConfig,
    SchedulerScheduleTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.scheduler_schedule_group import SchedulerScheduleGroup
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from stacks.config import StackConfig
from stacks.policies import scheduler_statements
from stacks.policy_documents import assume_role_policy, policy_document

MONTHLY_AT_0200_UTC_ON_THE_1ST = "cron(0 2 1 * ? *)"
# An hour later the same function is asked whether the payout completed; it only reads the run
# record and emits PayoutDeadlineMissed, which an alarm watches (lambdas/referrals/payout_event.py).
MONTHLY_DEADLINE_AT_0300_UTC_ON_THE_1ST = "cron(0 3 1 * ? *)"
# Scheduler fills these context attributes in at each run: the input carries the run's own
# time, not a value frozen at synth time as the original's `executionId: new Date()` was.
PAYOUT_INPUT = json.dumps(
    {
        "source": "aws.scheduler",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
        "executionId": "<aws.scheduler.execution-id>",
    }
)
DEADLINE_CHECK_INPUT = json.dumps({**json.loads(PAYOUT_INPUT), "check": "completed"})
RETRY_ATTEMPTS = 3
MAX_EVENT_AGE_SECONDS = 3600


def scheduler_role(scope: Construct, id_: str, suffix: str) -> IamRole:
    """Created before the schedule so the KMS key policy can name it (the DLQ is encrypted)."""
    return IamRole(
        scope,
        id_,
        name=f"payout-scheduler-{suffix}-role",
        assume_role_policy=assume_role_policy("scheduler.amazonaws.com"),
    )


class PayoutSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        config: StackConfig,
        *,
        role: IamRole,
        payout_function: LambdaFunction,
        dead_letter_queue: SqsQueue,
    ) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.group = SchedulerScheduleGroup(self, "group", name=f"referral-payouts-{suffix}")
        self.role = role
        IamRolePolicy(
            self,
            "policy",
            name=f"payout-scheduler-{suffix}-policy",
            role=self.role.id,
            policy=policy_document(scheduler_statements(payout_function.arn, dead_letter_queue.arn)),
        )
        target = (payout_function, dead_letter_queue)
        self.suffix = suffix
        self.schedule = self._monthly(
            "monthly-payout",
            "Pays last month's pending referral rewards",
            MONTHLY_AT_0200_UTC_ON_THE_1ST,
            PAYOUT_INPUT,
            target,
        )
        self.deadline_check = self._monthly(
            "payout-deadline-check",
            "Alarms (PayoutDeadlineMissed) when last month's payout has not completed by 03:00 UTC",
            MONTHLY_DEADLINE_AT_0300_UTC_ON_THE_1ST,
            DEADLINE_CHECK_INPUT,
            target,
        )

    def _monthly(
        self, kind: str, description: str, expression: str, payload: str, target: tuple[LambdaFunction, SqsQueue]
    ) -> SchedulerSchedule:
        function, dead_letter_queue = target
        return SchedulerSchedule(
            self,
            kind,
            name=f"{kind}-{self.suffix}",
            group_name=self.group.name,
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
            target=SchedulerScheduleTarget(
                arn=function.arn,
                role_arn=self.role.arn,
                input=payload,
                retry_policy=SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=RETRY_ATTEMPTS,
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                ),
                dead_letter_config=SchedulerScheduleTargetDeadLetterConfig(arn=dead_letter_queue.arn),
            ),
        )
