"""Who may do what: every grant the stack makes, the caller's side and the resource's side.

Each edge between two parts of the system needs both halves in a real account: the caller's
identity policy (or, for an AWS service, its place in a resource policy) and the resource's own
policy (key, topic, queue, bucket), which must allow it or at least not deny it. The emulator
evaluates neither, so tests/stack/test_access_edges.py checks every edge against this module's
documents. The constructs only attach what is built here.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from stacks.data_names import (
    EMAIL_KEY_SUFFIX,
    OPEN_CLAWBACKS_INDEX,
    PAYABLE_REWARDS_INDEX,
    PAYOUT_INDEX,
    PENDING_REWARDS_INDEX,
    REFERRER_INDEX,
    REPORTS_PREFIX,
    REVIEW_QUEUE_INDEX,
)
from stacks.policy_documents import allow, deny_insecure_transport_statement, policy_document

DATA_KEY_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"]
KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
# What a person reading a dead-letter queue needs: look, take a message, put it back or delete it.
DLQ_READING = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
TABLE_READING = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
STREAM_READING = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
ADMIN_ACTIONS = ("qualify", "approve", "reverse")  # POST /referrals/{userId}/<action>


@dataclass(frozen=True)
class Account:
    """Where the stack is deployed; id and partition are Terraform references."""

    id: str
    partition: str
    region: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.id}:{resource}"

    @property
    def root(self) -> str:
        return f"arn:{self.partition}:iam::{self.id}:root"

    def via(self, service: str) -> str:
        """The kms:ViaService value of requests that `service` makes on a caller's behalf."""
        return f"{service}.{self.region}.amazonaws.com"


# Identity side: the stack's own roles ------------------------------------------------------------


def function_logging_statements(log_group_arn: str) -> list[dict]:
    return [
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        # Active tracing: X-Ray offers no resource-level permissions for these actions.
        allow("WriteTraces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]


def reward_function_statements(table_arn: str, email_key_arn: str) -> list[dict]:
    """What the reward calculator's code calls (tests/stack/test_least_privilege.py compares).

    No SNS: the committed referral is the event, published by the relay from the table's stream.
    """
    return [
        # Referrer lookups, enrolment, the signup queue ticket, and the signup transaction (a Put
        # of the new profile, referral and e-mail key, an Update of the referrer's counters).
        allow("ReadAndRecordReferrals", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [table_arn]),
        allow("ReferrerStatistics", ["dynamodb:Query"], [f"{table_arn}/index/{REFERRER_INDEX}"]),
        # Once per cold start: the secret that keys the e-mail HMACs (it never leaves the function).
        allow("DeriveEmailKeySecret", ["kms:GenerateMac"], [email_key_arn]),
    ]


def admin_function_statements(table_arn: str) -> list[dict]:
    """What the referral admin function's code calls: no KMS GenerateMac, no other index."""
    return [
        # The referee's referral item, read with one consistent Query (a GSI cannot be consistent).
        allow("ReadRewardsConsistently", ["dynamodb:Query"], [table_arn]),
        # Each transition is one conditional UpdateItem; the clawback of a paid reward is a
        # TransactWriteItems of an UpdateItem (the paid item) and a PutItem (the clawback).
        allow("ActOnRewards", ["dynamodb:PutItem", "dynamodb:UpdateItem"], [table_arn]),
        allow("ReadTheReviewQueue", ["dynamodb:Query"], [f"{table_arn}/index/{REVIEW_QUEUE_INDEX}"]),
    ]


def payout_function_statements(
    table_arn: str, idempotency_table_arn: str, bucket_arn: str, dead_letter_arn: str
) -> list[dict]:
    """What the payout processor's code calls, plus the dead-letter queue Lambda writes with its role."""
    return [
        # Payable rewards and open clawbacks before the cutoff, what a run already claimed, and
        # rewards from before the lifecycle (pending-rewards-index, read while it holds any).
        allow(
            "ReadPayableAndClaimedRewards",
            ["dynamodb:Query"],
            [
                f"{table_arn}/index/{index}"
                for index in (PAYABLE_REWARDS_INDEX, OPEN_CLAWBACKS_INDEX, PENDING_REWARDS_INDEX, PAYOUT_INDEX)
            ],
        ),
        # Claims of rewards and clawbacks are conditional updates inside TransactWriteItems; a
        # referrer's credit is an update, and what it could not net a Put of the carry in the same transaction.
        allow("ClaimRewardsAndRecordCarries", ["dynamodb:PutItem", "dynamodb:UpdateItem"], [table_arn]),
        # Lease and completion are conditional updates; the deadline check reads the run's status.
        allow("RecordPayoutRuns", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [idempotency_table_arn]),
        allow("WriteReports", ["s3:PutObject"], [f"{bucket_arn}/{REPORTS_PREFIX}*"]),
        # Lambda sends failed asynchronous runs to the dead-letter queue with this role.
        allow("DeadLetterFailedRuns", ["sqs:SendMessage"], [dead_letter_arn]),
    ]


def relay_function_statements(table_arns: Sequence[str], topic_arn: str, dead_letter_arn: str) -> list[dict]:
    """The event relay publishes; Lambda reads the streams and fills its DLQ with the same role."""
    return [
        allow("PublishCommittedChanges", ["sns:Publish"], [topic_arn]),
        # Lambda's event source mappings poll the streams with the function's role.
        allow("ReadTableStreams", STREAM_READING, [f"{arn}/stream/*" for arn in table_arns]),
        # ListStreams has no resource-level permission (IAM's reference: resource "*").
        allow("FindTableStreams", ["dynamodb:ListStreams"], ["*"]),
        # A batch that keeps failing is recorded in the relay's DLQ (the mapping's on-failure destination).
        allow("RecordUndeliveredBatches", ["sqs:SendMessage"], [dead_letter_arn]),
    ]


def scheduler_statements(payout_function_arn: str, dead_letter_arn: str) -> list[dict]:
    return [
        allow("InvokePayoutOnly", ["lambda:InvokeFunction"], [payout_function_arn]),
        allow("DeadLetterUndelivered", ["sqs:SendMessage"], [dead_letter_arn]),
    ]


# Identity side: people (roles named in the configuration) ---------------------------------------


def report_reader_statements(account: Account, bucket_arn: str, key_arn: str) -> list[dict]:
    """Finance: find and download payout reports; the key decrypts them only through S3."""
    return [
        allow("DownloadPayoutReports", ["s3:GetObject"], [f"{bucket_arn}/{REPORTS_PREFIX}*"]),
        {**allow("ListPayoutReports", ["s3:ListBucket"], [bucket_arn]), "Condition": _reports_prefix_only()},
        {
            **allow("DecryptReportsThroughS3", ["kms:Decrypt"], [key_arn]),
            "Condition": {"StringEquals": {"kms:ViaService": account.via("s3")}},
        },
    ]


def operator_statements(
    account: Account,
    queue_arns: Sequence[str],
    table_arns: Sequence[str],
    function_arns: Sequence[str],
    key_arn: str,
    *,
    alarm_arns: Sequence[str],
    api_key_id: str,
    admin_route_arns: Sequence[str],
    email_key_arn: str,
) -> list[dict]:
    """On-call: read the dead-letter queues, redrive, read the tables and their streams, see the
    stack's alarms and call its API (what the `referrals` CLI does); change data only through the
    admin routes, which record who acted."""
    return [
        # `referrals` review commands: the review queue, qualify, approve, reverse (SigV4).
        allow("CallTheAdminRoutes", ["execute-api:Invoke"], list(admin_route_arns)),
        # `referrals backfill-email-keys` keys existing profiles' addresses as the signup does, and
        # writes e-mail key items only: every partition key it writes must end in #email.
        allow("DeriveEmailKeySecret", ["kms:GenerateMac"], [email_key_arn]),
        {
            **allow("WriteEmailKeysOnly", ["dynamodb:PutItem"], [table_arns[0]]),
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"*{EMAIL_KEY_SUFFIX}"]}},
        },
        # `referrals status` asks for exactly these alarms (the alarm-names output).
        allow("SeeTheStacksAlarms", ["cloudwatch:DescribeAlarms"], list(alarm_arns)),
        # `referrals referrer` calls GET /referrers/{code} with the API's key: its value only.
        allow("ReadTheApiKey", ["apigateway:GET"], [api_key_arn(account, api_key_id)]),
        allow("ReadDeadLetterQueues", DLQ_READING, list(queue_arns)),
        # A failed payout event is redriven by invoking the payout function with the message body;
        # a failed relay batch by reading its records from the stream and invoking the relay.
        allow("Redrive", ["lambda:InvokeFunction"], list(function_arns)),
        allow("ReadTables", TABLE_READING, [*table_arns, *(f"{arn}/index/*" for arn in table_arns)]),
        allow("ReadTableStreams", STREAM_READING, [f"{arn}/stream/*" for arn in table_arns]),
        {
            **allow("DecryptThroughQueuesAndTables", ["kms:Decrypt", "kms:DescribeKey"], [key_arn]),
            "Condition": {"StringEquals": {"kms:ViaService": [account.via("sqs"), account.via("dynamodb")]}},
        },
    ]


def admin_caller_statements(admin_route_arns: Sequence[str]) -> list[dict]:
    """The host backend (or an operator): the admin routes and nothing else."""
    return [allow("CallTheAdminRoutes", ["execute-api:Invoke"], list(admin_route_arns))]


def admin_route_arns(execution_arn: str, stage_name: str) -> list[str]:
    """The method ARNs of the admin routes on the one stage; `*` is the referee's user id."""
    routes = [f"POST/referrals/*/{action}" for action in ADMIN_ACTIONS] + ["GET/referrals"]
    return [f"{execution_arn}/{stage_name}/{route}" for route in routes]


def api_key_arn(account: Account, api_key_id: str) -> str:
    """API Gateway's ARNs name no account."""
    return f"arn:{account.partition}:apigateway:{account.region}::/apikeys/{api_key_id}"


# Resource side -----------------------------------------------------------------------------------


def key_policy(
    account: Account,
    *,
    service_roles: Sequence[str],
    log_group_names: Sequence[str],
    alarm_arns: Sequence[str],
    reports_bucket_prefix: str,
    report_readers: Sequence[str] = (),
    operators: Sequence[str] = (),
) -> str:
    """The account administers the key but cannot read data with it; only the users named here can."""
    log_groups = [account.arn("logs", f"log-group:{name}") for name in log_group_names]
    statements = [
        _key_statement("KeyAdministrationByTheAccount", {"AWS": account.root}, KEY_ADMINISTRATION),
        # DynamoDB and Lambda create grants on the deployer's behalf when a table or function is
        # created with this key; only for AWS resources.
        _key_statement(
            "GrantsForAwsResources",
            {"AWS": account.root},
            ["kms:CreateGrant"],
            {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        # Lambda encrypts a function's environment with the deployer's credentials; encrypting
        # reveals nothing, decrypting stays with the users below.
        _key_statement("EncryptFunctionEnvironments", {"AWS": account.root}, ["kms:Encrypt"]),
        _key_statement("DataUseByFunctionAndSchedulerRoles", {"AWS": list(service_roles)}, DATA_KEY_USE),
        _key_statement(
            "LogGroupsOfThisStack",
            {"Service": account.via("logs")},
            # No kms:Describe*: DescribeKey carries no encryption context, so the condition never held.
            ["kms:Decrypt*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            # StringLike: encryption-context values are strings (ArnLike reads them the same way).
            {"StringLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        ),
        # Alarms publish to the encrypted ops topic; only this stack's alarms.
        _key_statement(
            "CloudWatchAlarmsOfThisStack",
            {"Service": "cloudwatch.amazonaws.com"},
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            _alarms_of_this_stack(account, alarm_arns),
        ),
    ]
    if report_readers:
        # With a bucket key, S3's encryption context is the bucket's ARN; the bucket is named by
        # prefix, so the key cannot name it exactly without a dependency cycle.
        bucket_arns = f"arn:{account.partition}:s3:::{reports_bucket_prefix}*"
        statements.append(
            _key_statement(
                "ReportReadersDecryptThroughS3",
                {"AWS": list(report_readers)},
                ["kms:Decrypt"],
                {
                    "StringEquals": {"kms:ViaService": account.via("s3")},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_arns},
                },
            )
        )
    if operators:
        statements.append(
            _key_statement(
                "OperatorsDecryptThroughQueuesAndTables",
                {"AWS": list(operators)},
                ["kms:Decrypt", "kms:DescribeKey"],
                {"StringEquals": {"kms:ViaService": [account.via("sqs"), account.via("dynamodb")]}},
            )
        )
    return policy_document(statements)


def email_key_policy(account: Account, *, mac_users: Sequence[str]) -> str:
    """The HMAC key: the account administers it; only the users named may derive the secret."""
    return policy_document(
        [
            _key_statement("KeyAdministrationByTheAccount", {"AWS": account.root}, KEY_ADMINISTRATION),
            _key_statement("DeriveEmailKeySecret", {"AWS": list(mac_users)}, ["kms:GenerateMac"]),
        ]
    )


def ops_topic_policy(account: Account, topic_arn: str, alarm_arns: Sequence[str]) -> str:
    """A topic policy replaces SNS's default one, so CloudWatch must be allowed by name."""
    return policy_document(
        [
            deny_insecure_transport_statement("sns:Publish", [topic_arn]),
            {
                "Sid": "CloudWatchAlarmsOfThisStack",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": _alarms_of_this_stack(account, alarm_arns),
            },
        ]
    )


def reward_topic_policy(topic_arn: str) -> str:
    """Publishers and subscribers are this account's principals, allowed by their own policies."""
    return policy_document([deny_insecure_transport_statement("sns:Publish", [topic_arn])])


def dead_letter_queue_policy(queue_arn: str, operators: Sequence[str] = ()) -> str:
    """Lambda and Scheduler write with the roles that the identity side allows; people read here."""
    statements = [deny_insecure_transport_statement("sqs:*", [queue_arn])]
    if operators:
        statements.append(
            {
                "Sid": "OperatorsReadAndRedrive",
                "Effect": "Allow",
                "Principal": {"AWS": list(operators)},
                "Action": DLQ_READING,
                "Resource": queue_arn,
            }
        )
    return policy_document(statements)


def reports_bucket_policy(bucket_arn: str, report_readers: Sequence[str] = ()) -> str:
    statements = [deny_insecure_transport_statement("s3:*", [bucket_arn, f"{bucket_arn}/*"])]
    if report_readers:
        principal = {"AWS": list(report_readers)}
        statements += [
            {
                "Sid": "ReportReadersDownload",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{REPORTS_PREFIX}*",
            },
            {
                "Sid": "ReportReadersList",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": _reports_prefix_only(),
            },
        ]
    return policy_document(statements)


def api_invoke_source_arn(execution_arn: str, http_method: str, path: str) -> str:
    """The one API route that may invoke a function (the original allowed any route)."""
    return f"{execution_arn}/*/{http_method}/{path}"


def _alarms_of_this_stack(account: Account, alarm_arns: Sequence[str]) -> dict:
    # Confused-deputy protection: CloudWatch acting for these alarms only, in this account.
    return {"StringEquals": {"aws:SourceAccount": account.id}, "ArnEquals": {"aws:SourceArn": list(alarm_arns)}}


def _reports_prefix_only() -> dict:
    return {"StringLike": {"s3:prefix": [f"{REPORTS_PREFIX}*"]}}


def _key_statement(sid: str, principal: dict, actions: list[str], condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement
