"""What each function's own code may do: one statement per purpose, on named ARNs only.

tests/stack/test_least_privilege.py compares these with the AWS calls the handler tests make:
nothing called that is not granted, nothing granted that is never called.
"""

from stacks.policies import allow
from stacks.storage import PAYOUT_INDEX, PENDING_REWARDS_INDEX, REFERRER_INDEX

REPORTS_PREFIX = "payouts/"


def reward_statements(table_arn: str, topic_arn: str) -> list[dict]:
    return [
        # Referrer lookups, enrolment, and the signup transaction (a Put of the new profile and
        # referral, an Update of the referrer's counters); UpdateItem also marks a failed notification.
        allow(
            "ReadAndRecordReferrals",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [table_arn],
        ),
        allow("ReferrerStatistics", ["dynamodb:Query"], [f"{table_arn}/index/{REFERRER_INDEX}"]),
        allow("PublishRewards", ["sns:Publish"], [topic_arn]),
    ]


def payout_statements(
    table_arn: str, idempotency_table_arn: str, bucket_arn: str, topic_arn: str, dead_letter_arn: str
) -> list[dict]:
    return [
        allow(
            "ReadPendingAndClaimedRewards",
            ["dynamodb:Query"],
            [f"{table_arn}/index/{PENDING_REWARDS_INDEX}", f"{table_arn}/index/{PAYOUT_INDEX}"],
        ),
        # Claims are conditional updates inside TransactWriteItems.
        allow("ClaimRewards", ["dynamodb:UpdateItem"], [table_arn]),
        # Lease and completion are conditional updates; the deadline check reads the run's status.
        allow("RecordPayoutRuns", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [idempotency_table_arn]),
        allow("WriteReports", ["s3:PutObject"], [f"{bucket_arn}/{REPORTS_PREFIX}*"]),
        allow("PublishPayouts", ["sns:Publish"], [topic_arn]),
        # Lambda sends failed asynchronous runs to the dead-letter queue with this role.
        allow("DeadLetterFailedRuns", ["sqs:SendMessage"], [dead_letter_arn]),
    ]
