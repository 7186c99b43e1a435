"""Every service-to-service edge the stack creates, with both halves proven on the synthesized JSON.

The emulator evaluates no IAM, resource or key policy, so a green end-to-end run says nothing
about who may call what. Each row below is one caller doing one thing to one resource, checked
against the caller's identity policy (where the caller has one) and the resource's own policy:
the key policy must allow (it does not delegate data use to IAM), a service principal must be
allowed by the resource policy (it has no identity policy of its own), and every other resource
policy must at least not deny. Rows marked `denied` are what must stay impossible.
"""

import json
from dataclasses import dataclass, field, replace

from tests.stack.conftest import Synth
from tests.stack.policy_evaluation import ALLOW, DENY, NO_OPINION, Request, decide, unsupported

ACCOUNT = "${data.aws_caller_identity.account.account_id}"
PARTITION = "${data.aws_partition.partition.partition}"
REGION = "us-east-1"
READER = "arn:aws:iam::123456789012:role/finance/payout-reports"  # tests/stack/conftest.py PEOPLE
OPERATORS = ("arn:aws:iam::123456789012:role/oncall", "arn:aws:iam::123456789012:role/sre")
# A role the admin callers' policy would be attached to (it is attached to none by the stack).
HOST_BACKEND = "arn:aws:iam::123456789012:role/host-backend"
TLS = {"aws:SecureTransport": "true"}


@dataclass(frozen=True)
class Edge:
    request: Request
    identity: dict | None  # the caller's own policy; None: a service principal, or named in the key policy
    resource: dict | None  # the resource's policy; None: the resource type has none here
    resource_must_allow: bool = False  # key policies and service principals
    denied: bool = False  # must be impossible

    def refused(self) -> "Edge":
        """The same edge, as one that must stay impossible."""
        return replace(self, denied=True)


@dataclass
class Stack:
    """Looks up the documents and references of one synthesized environment."""

    synth: Synth
    suffix: str
    docs: list[dict] = field(default_factory=list)

    def ref(self, resource_type: str, attribute: str, **match: object) -> str:
        return self.synth.ref(resource_type, attribute, **match)

    def role_arn(self, name: str) -> str:
        return self.ref("aws_iam_role", "arn", name=name)

    def inline(self, role_name: str) -> dict:
        return self._keep(self.synth.role_policy(role_name))

    def trust(self, role_name: str) -> dict:
        return self._keep(json.loads(self.synth.one("aws_iam_role", name=role_name)["assume_role_policy"]))

    def managed(self, name: str, attached_to: str) -> dict:
        policy_ref = self.ref("aws_iam_policy", "arn", name=name)
        attached = {a["role"] for a in self.synth.resources("aws_iam_role_policy_attachment").values()}
        attached_here = [
            a for a in self.synth.resources("aws_iam_role_policy_attachment").values() if a["policy_arn"] == policy_ref
        ]
        role_name = attached_to.rsplit("/", 1)[1]
        assert role_name in attached and any(a["role"] == role_name for a in attached_here), (name, attached_to)
        return self._keep(json.loads(self.synth.one("aws_iam_policy", name=name)["policy"]))

    def key(self) -> dict:
        """The data key's policy (the key that rotates; the other is the e-mail keys' HMAC key)."""
        return self._keep(json.loads(self.synth.one("aws_kms_key", enable_key_rotation=True)["policy"]))

    def email_key(self) -> dict:
        return self._keep(json.loads(self.synth.one("aws_kms_key", customer_master_key_spec="HMAC_256")["policy"]))

    def unattached(self, name: str) -> dict:
        """A managed policy the stack creates for others to attach (an output), attached to no role."""
        policy_ref = self.ref("aws_iam_policy", "arn", name=name)
        attachments = self.synth.resources("aws_iam_role_policy_attachment").values()
        assert not [a for a in attachments if a["policy_arn"] == policy_ref], name
        return self._keep(json.loads(self.synth.one("aws_iam_policy", name=name)["policy"]))

    def topic(self, name: str) -> dict:
        arn = self.ref("aws_sns_topic", "arn", name=name)
        (policy,) = [p for p in self.synth.resources("aws_sns_topic_policy").values() if p["arn"] == arn]
        return self._keep(json.loads(policy["policy"]))

    def queue(self, name: str) -> dict:
        url = self.ref("aws_sqs_queue", "url", name=name)
        (policy,) = [p for p in self.synth.resources("aws_sqs_queue_policy").values() if p["queue_url"] == url]
        return self._keep(json.loads(policy["policy"]))

    def bucket(self) -> dict:
        (policy,) = self.synth.resources("aws_s3_bucket_policy").values()
        assert policy["bucket"] == self.ref("aws_s3_bucket", "id")
        return self._keep(json.loads(policy["policy"]))

    def function_policy(self, function_name: str) -> dict:
        """The function's resource policy, as the statements its aws_lambda_permission resources add."""
        name_ref = self.ref("aws_lambda_function", "function_name", function_name=function_name)
        statements = [
            {
                "Sid": p["statement_id"],
                "Effect": "Allow",
                "Principal": {"Service": p["principal"]},
                "Action": p["action"],
                "Resource": self.ref("aws_lambda_function", "arn", function_name=function_name),
                "Condition": {"ArnLike": {"aws:SourceArn": p["source_arn"]}},
            }
            for p in self.synth.resources("aws_lambda_permission").values()
            if p["function_name"] == name_ref
        ]
        return {"Version": "2012-10-17", "Statement": statements}

    def _keep(self, document: dict) -> dict:
        self.docs.append(document)
        return document


def log_group_arn(name: str) -> str:
    return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def alarm_arn(name: str) -> str:
    return f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


def edges(synth: Synth, suffix: str, *, with_people: bool = True) -> dict[str, Edge]:
    stack = Stack(synth, suffix)
    return edges_of(stack, with_people=with_people)


def edges_of(s: Stack, *, with_people: bool = True) -> dict[str, Edge]:
    synth, suffix = s.synth, s.suffix
    reward_role, payout_role = f"reward-calculation-{suffix}-role", f"payout-processing-{suffix}-role"
    scheduler_role = f"payout-scheduler-{suffix}-role"
    relay_role, relay_dlq = f"event-relay-{suffix}-role", f"event-relay-dlq-{suffix}"
    referral_stream = (
        f"{s.ref('aws_dynamodb_table', 'arn', name=f'referral-tracking-{suffix}')}/stream/2026-12-01T00:00:00.000"
    )
    runs_stream = (
        f"{s.ref('aws_dynamodb_table', 'arn', name=f'payout-idempotency-{suffix}')}/stream/2026-12-01T00:00:00.000"
    )
    reward_fn, payout_fn = f"reward-calculation-{suffix}", f"payout-processing-{suffix}"
    table = s.ref("aws_dynamodb_table", "arn", name=f"referral-tracking-{suffix}")
    runs = s.ref("aws_dynamodb_table", "arn", name=f"payout-idempotency-{suffix}")
    bucket = s.ref("aws_s3_bucket", "arn")
    report = f"{bucket}/payouts/2026-11/payout-report.csv"
    reward_topic, ops_topic = f"reward-notifications-{suffix}", f"ops-alerts-{suffix}"
    payout_dlq, schedule_dlq = f"payout-processing-dlq-{suffix}", f"payout-schedule-dlq-{suffix}"
    key = s.ref("aws_kms_key", "arn", enable_key_rotation=True)
    email_key = s.ref("aws_kms_key", "arn", customer_master_key_spec="HMAC_256")
    admin_role, admin_fn = f"referral-admin-{suffix}-role", f"referral-admin-{suffix}"
    alarms = [a["alarm_name"] for a in synth.resources("aws_cloudwatch_metric_alarm").values()]
    first_alarm = alarms[0]
    execution_arn = s.ref("aws_api_gateway_rest_api", "execution_arn")
    api_call = f"{execution_arn}/{suffix}/POST/signup"
    admin_calls = {
        f"{method} {path}": f"{execution_arn}/{suffix}/{method}/{path.replace('{userId}', 'bob')}"
        for method, path in ADMIN_ROUTES
    }
    bucket_context = {"kms:EncryptionContext:aws:s3:arn": f"arn:{PARTITION}:s3:::payout-reports-{suffix}-0123abcd"}

    def arn(role: str) -> tuple[str, str]:
        return ("AWS", s.role_arn(role))

    def call(principal: tuple[str, str], action: str, resource: str, **context: str) -> Request:
        return Request(principal, action, resource, {**TLS, **context})

    def via(service: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}

    table_of = {"dynamodb:GetItem": table, "dynamodb:TransactWriteItems": table}
    cloudwatch, apigateway, logs = (
        "cloudwatch.amazonaws.com",
        "apigateway.amazonaws.com",
        f"logs.{REGION}.amazonaws.com",
    )
    ours = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": alarm_arn(first_alarm)}
    ops_topic_arn = s.ref("aws_sns_topic", "arn", name=ops_topic)
    reward_fn_arn = s.ref("aws_lambda_function", "arn", function_name=reward_fn)
    admin_fn_arn = s.ref("aws_lambda_function", "arn", function_name=admin_fn)
    other_api = f"arn:aws:execute-api:{REGION}:999999999999:other/{suffix}/POST/signup"

    def service(name: str, action: str, resource: str, policy: dict, context: dict[str, str]) -> Edge:
        """An AWS service acting: it has no identity policy, so the resource's policy alone decides."""
        return Edge(call(("Service", name), action, resource, **context), None, policy, resource_must_allow=True)

    rows: dict[str, Edge] = {
        # CloudWatch alarms -> ops topic and its key (an AWS service: only the resource side exists).
        "cloudwatch alarm -> ops topic": service(cloudwatch, "sns:Publish", ops_topic_arn, s.topic(ops_topic), ours),
        "cloudwatch alarm -> key (encrypted ops topic)": service(cloudwatch, "kms:GenerateDataKey", key, s.key(), ours),
        "cloudwatch, for another account's alarm -> ops topic": service(
            cloudwatch, "sns:Publish", ops_topic_arn, s.topic(ops_topic), ours | {"aws:SourceAccount": "999999999999"}
        ).refused(),
        "cloudwatch, for an alarm of another stack -> ops topic": service(
            cloudwatch, "sns:Publish", ops_topic_arn, s.topic(ops_topic), ours | {"aws:SourceArn": alarm_arn("other")}
        ).refused(),
        # API Gateway -> reward function: the route's permission on the function.
        "api gateway POST /signup -> reward function": service(
            apigateway,
            "lambda:InvokeFunction",
            reward_fn_arn,
            s.function_policy(reward_fn),
            {"aws:SourceArn": api_call},
        ),
        # API Gateway -> admin function: each admin route's permission; the public routes' don't reach it.
        **{
            f"api gateway {route} -> admin function": service(
                apigateway,
                "lambda:InvokeFunction",
                admin_fn_arn,
                s.function_policy(admin_fn),
                {"aws:SourceArn": source},
            )
            for route, source in admin_calls.items()
        },
        "api gateway POST /signup -> admin function": service(
            apigateway, "lambda:InvokeFunction", admin_fn_arn, s.function_policy(admin_fn), {"aws:SourceArn": api_call}
        ).refused(),
        "api gateway POST /referrals/{userId}/reverse -> reward function": service(
            apigateway,
            "lambda:InvokeFunction",
            reward_fn_arn,
            s.function_policy(reward_fn),
            {"aws:SourceArn": admin_calls["POST referrals/{userId}/reverse"]},
        ).refused(),
        "api gateway, another API -> admin function": service(
            apigateway,
            "lambda:InvokeFunction",
            admin_fn_arn,
            s.function_policy(admin_fn),
            {"aws:SourceArn": other_api.replace("POST/signup", "POST/referrals/bob/reverse")},
        ).refused(),
        "api gateway, another API -> reward function": service(
            apigateway,
            "lambda:InvokeFunction",
            reward_fn_arn,
            s.function_policy(reward_fn),
            {"aws:SourceArn": other_api},
        ).refused(),
        # Scheduler -> its role -> payout function and the schedule DLQ (encrypted).
        "scheduler assumes its role": Edge(
            call(("Service", "scheduler.amazonaws.com"), "sts:AssumeRole", s.role_arn(scheduler_role)),
            None,
            s.trust(scheduler_role),
            resource_must_allow=True,
        ),
        "scheduler role -> payout function": Edge(
            call(
                arn(scheduler_role),
                "lambda:InvokeFunction",
                s.ref("aws_lambda_function", "arn", function_name=payout_fn),
            ),
            s.inline(scheduler_role),
            s.function_policy(payout_fn),
        ),
        "scheduler role -> reward function": Edge(
            call(
                arn(scheduler_role),
                "lambda:InvokeFunction",
                s.ref("aws_lambda_function", "arn", function_name=reward_fn),
            ),
            s.inline(scheduler_role),
            s.function_policy(reward_fn),
            denied=True,
        ),
        "scheduler role -> schedule DLQ": Edge(
            call(arn(scheduler_role), "sqs:SendMessage", s.ref("aws_sqs_queue", "arn", name=schedule_dlq)),
            s.inline(scheduler_role),
            s.queue(schedule_dlq),
        ),
        "scheduler role -> key (schedule DLQ)": Edge(
            call(arn(scheduler_role), "kms:GenerateDataKey", key, **via("sqs")),
            None,
            s.key(),
            resource_must_allow=True,
        ),
        # Lambda -> payout DLQ, with the payout function's role.
        "payout role -> payout DLQ": Edge(
            call(arn(payout_role), "sqs:SendMessage", s.ref("aws_sqs_queue", "arn", name=payout_dlq)),
            s.inline(payout_role),
            s.queue(payout_dlq),
        ),
        # CloudWatch Logs -> key, for this stack's log groups only.
        **{
            f"cloudwatch logs ({group['name']}) -> key": service(
                logs,
                "kms:GenerateDataKey",
                key,
                s.key(),
                {"kms:EncryptionContext:aws:logs:arn": log_group_arn(group["name"])},
            )
            for group in synth.resources("aws_cloudwatch_log_group").values()
        },
        "cloudwatch logs (another log group) -> key": service(
            logs, "kms:Decrypt", key, s.key(), {"kms:EncryptionContext:aws:logs:arn": log_group_arn("/other")}
        ).refused(),
        # Each function -> its table, bucket, topic; the key names both roles.
        "reward role -> referral table (signup transaction)": Edge(
            call(arn(reward_role), "dynamodb:UpdateItem", table),
            s.inline(reward_role),
            None,
        ),
        "reward role -> referrer index": Edge(
            call(arn(reward_role), "dynamodb:Query", f"{table}/index/referrer-index"),
            s.inline(reward_role),
            None,
        ),
        # The outbox: only the relay publishes; the functions' commits are the events.
        "reward role -> reward topic": Edge(
            call(arn(reward_role), "sns:Publish", s.ref("aws_sns_topic", "arn", name=reward_topic)),
            s.inline(reward_role),
            s.topic(reward_topic),
            denied=True,
        ),
        "relay role -> reward topic": Edge(
            call(arn(relay_role), "sns:Publish", s.ref("aws_sns_topic", "arn", name=reward_topic)),
            s.inline(relay_role),
            s.topic(reward_topic),
        ),
        "relay role -> key (encrypted topic, streams, DLQ)": Edge(
            call(arn(relay_role), "kms:GenerateDataKey", key), None, s.key(), resource_must_allow=True
        ),
        **{
            f"lambda, with the relay role -> {name} stream ({action})": Edge(
                call(arn(relay_role), action, stream),
                s.inline(relay_role),
                None,
            )
            for name, stream in (("referral", referral_stream), ("run record", runs_stream))
            for action in ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords")
        },
        "lambda, with the relay role -> relay DLQ": Edge(
            call(arn(relay_role), "sqs:SendMessage", s.ref("aws_sqs_queue", "arn", name=relay_dlq)),
            s.inline(relay_role),
            s.queue(relay_dlq),
        ),
        "relay role -> write the referral table": Edge(
            call(arn(relay_role), "dynamodb:PutItem", table), s.inline(relay_role), None, denied=True
        ),
        # The e-mail keys' secret: the reward role derives it; no other role, and not the account root.
        "reward role -> e-mail HMAC key (GenerateMac)": Edge(
            call(arn(reward_role), "kms:GenerateMac", email_key),
            s.inline(reward_role),
            s.email_key(),
            resource_must_allow=True,
        ),
        **{
            f"{name} role -> e-mail HMAC key (GenerateMac)": Edge(
                call(arn(role), "kms:GenerateMac", email_key), s.inline(role), s.email_key(), resource_must_allow=True
            ).refused()
            for name, role in (("admin", admin_role), ("payout", payout_role), ("relay", relay_role))
        },
        "the account root -> e-mail HMAC key (GenerateMac)": Edge(
            call(("AWS", f"arn:{PARTITION}:iam::{ACCOUNT}:root"), "kms:GenerateMac", email_key),
            None,
            s.email_key(),
            resource_must_allow=True,
            denied=True,
        ),
        "reward role -> verify or read the e-mail HMAC key": Edge(
            call(arn(reward_role), "kms:VerifyMac", email_key),
            s.inline(reward_role),
            s.email_key(),
            resource_must_allow=True,
            denied=True,
        ),
        # The admin function: one consistent Query, conditional updates, the clawback transaction, the queue.
        "admin role -> read a reward (consistent Query)": Edge(
            call(arn(admin_role), "dynamodb:Query", table), s.inline(admin_role), None
        ),
        "admin role -> act on a reward (UpdateItem)": Edge(
            call(arn(admin_role), "dynamodb:UpdateItem", table), s.inline(admin_role), None
        ),
        "admin role -> record a clawback (PutItem in the transaction)": Edge(
            call(arn(admin_role), "dynamodb:PutItem", table), s.inline(admin_role), None
        ),
        "admin role -> review queue index": Edge(
            call(arn(admin_role), "dynamodb:Query", f"{table}/index/review-queue-index"), s.inline(admin_role), None
        ),
        "admin role -> referrer index": Edge(
            call(arn(admin_role), "dynamodb:Query", f"{table}/index/referrer-index"),
            s.inline(admin_role),
            None,
            denied=True,
        ),
        "admin role -> delete a reward": Edge(
            call(arn(admin_role), "dynamodb:DeleteItem", table), s.inline(admin_role), None, denied=True
        ),
        "admin role -> run records": Edge(
            call(arn(admin_role), "dynamodb:UpdateItem", runs), s.inline(admin_role), None, denied=True
        ),
        "admin role -> key (encrypted environment and table)": Edge(
            call(arn(admin_role), "kms:Decrypt", key), None, s.key(), resource_must_allow=True
        ),
        "reward role -> key (table, topic)": Edge(
            call(arn(reward_role), "kms:GenerateDataKey", key),
            None,
            s.key(),
            resource_must_allow=True,
        ),
        "reward role -> reports bucket": Edge(
            call(arn(reward_role), "s3:PutObject", report),
            s.inline(reward_role),
            s.bucket(),
            denied=True,
        ),
        "payout role -> pending rewards index": Edge(
            call(arn(payout_role), "dynamodb:Query", f"{table}/index/pending-rewards-index"),
            s.inline(payout_role),
            None,
        ),
        "payout role -> payable rewards index": Edge(
            call(arn(payout_role), "dynamodb:Query", f"{table}/index/payable-rewards-index"),
            s.inline(payout_role),
            None,
        ),
        "payout role -> open clawbacks index": Edge(
            call(arn(payout_role), "dynamodb:Query", f"{table}/index/open-clawbacks-index"),
            s.inline(payout_role),
            None,
        ),
        "payout role -> review queue index": Edge(
            call(arn(payout_role), "dynamodb:Query", f"{table}/index/review-queue-index"),
            s.inline(payout_role),
            None,
            denied=True,
        ),
        "payout role -> carry (PutItem in the credit transaction)": Edge(
            call(arn(payout_role), "dynamodb:PutItem", table), s.inline(payout_role), None
        ),
        "payout role -> claims on the referral table": Edge(
            call(arn(payout_role), "dynamodb:UpdateItem", table_of["dynamodb:TransactWriteItems"]),
            s.inline(payout_role),
            None,
        ),
        "payout role -> run records": Edge(
            call(arn(payout_role), "dynamodb:UpdateItem", runs),
            s.inline(payout_role),
            None,
        ),
        "payout role -> report in the bucket": Edge(
            call(arn(payout_role), "s3:PutObject", report),
            s.inline(payout_role),
            s.bucket(),
        ),
        "payout role -> reward topic": Edge(
            call(arn(payout_role), "sns:Publish", s.ref("aws_sns_topic", "arn", name=reward_topic)),
            s.inline(payout_role),
            s.topic(reward_topic),
            denied=True,
        ),
        "payout role -> key (tables, report, topic, DLQ)": Edge(
            call(arn(payout_role), "kms:Decrypt", key),
            None,
            s.key(),
            resource_must_allow=True,
        ),
        "payout role, without TLS -> report in the bucket": Edge(
            Request(arn(payout_role), "s3:PutObject", report, {"aws:SecureTransport": "false"}),
            s.inline(payout_role),
            s.bucket(),
            denied=True,
        ),
        "the account root -> decrypt with the key": Edge(
            call(("AWS", f"arn:{PARTITION}:iam::{ACCOUNT}:root"), "kms:Decrypt", key),
            None,
            s.key(),
            resource_must_allow=True,
            denied=True,
        ),
    }
    rows |= admin_caller_edges(s, suffix)
    if with_people:
        rows |= people_edges(s, suffix, report=report, key=key, bucket_context=bucket_context, via=via)
    return rows


ADMIN_ROUTES = (
    ("POST", "referrals/{userId}/qualify"),
    ("POST", "referrals/{userId}/approve"),
    ("POST", "referrals/{userId}/reverse"),
    ("GET", "referrals"),
)


def admin_route_calls(s: Stack, stage: str) -> dict[str, str]:
    """execute-api:Invoke resources of the admin routes (as IAM sees a call), by route."""
    execution_arn = s.ref("aws_api_gateway_rest_api", "execution_arn")
    return {
        f"{method} /{path}": f"{execution_arn}/{stage}/{method}/{path.replace('{userId}', 'bob')}"
        for method, path in ADMIN_ROUTES
    }


def admin_caller_edges(s: Stack, suffix: str) -> dict[str, Edge]:
    """The admin callers' policy (output admin-caller-policy-arn): the admin routes on this stage, nothing else."""
    policy = s.unattached(f"referral-admin-callers-{suffix}")
    execution_arn = s.ref("aws_api_gateway_rest_api", "execution_arn")
    stage = suffix  # the stage is named after the environment

    def invoke(resource: str) -> Request:
        return Request(("AWS", HOST_BACKEND), "execute-api:Invoke", resource, TLS)

    rows = {
        f"admin caller -> {route}": Edge(invoke(resource), policy, None)
        for route, resource in admin_route_calls(s, stage).items()
    }
    for route, resource in {
        "POST /signup": f"{execution_arn}/{stage}/POST/signup",
        "GET /referrers/{code}": f"{execution_arn}/{stage}/GET/referrers/alice",
        "DELETE /referrals/{userId}/reverse": f"{execution_arn}/{stage}/DELETE/referrals/bob/reverse",
        "POST /referrals/{userId}/reverse of another stage": f"{execution_arn}/other/POST/referrals/bob/reverse",
        "POST /referrals/{userId}/reverse of another API": "arn:aws:execute-api:us-east-1:999999999999:other/"
        f"{stage}/POST/referrals/bob/reverse",
    }.items():
        rows[f"admin caller -> {route}"] = Edge(invoke(resource), policy, None, denied=True)
    return rows


def people_edges(s: Stack, suffix: str, *, report: str, key: str, bucket_context: dict, via) -> dict[str, Edge]:
    readers = f"referral-report-readers-{suffix}"
    operators = f"referral-operators-{suffix}"
    table = s.ref("aws_dynamodb_table", "arn", name=f"referral-tracking-{suffix}")
    payout_fn = s.ref("aws_lambda_function", "arn", function_name=f"payout-processing-{suffix}")
    relay_fn = s.ref("aws_lambda_function", "arn", function_name=f"event-relay-{suffix}")
    bucket = s.ref("aws_s3_bucket", "arn")
    email_key = s.ref("aws_kms_key", "arn", customer_master_key_spec="HMAC_256")
    alarm = alarm_arn(next(iter(s.synth.resources("aws_cloudwatch_metric_alarm").values()))["alarm_name"])
    api_key = f"arn:{PARTITION}:apigateway:{REGION}::/apikeys/{s.ref('aws_api_gateway_api_key', 'id')}"

    def call(principal: str, action: str, resource: str, **context: str) -> Request:
        return Request(("AWS", principal), action, resource, {**TLS, **context})

    rows = {
        "report reader -> report": Edge(call(READER, "s3:GetObject", report), s.managed(readers, READER), s.bucket()),
        "report reader -> list reports": Edge(
            call(READER, "s3:ListBucket", bucket, **{"s3:prefix": "payouts/2026-11/"}),
            s.managed(readers, READER),
            s.bucket(),
        ),
        "report reader -> key, through S3": Edge(
            call(READER, "kms:Decrypt", key, **via("s3"), **bucket_context),
            s.managed(readers, READER),
            s.key(),
            resource_must_allow=True,
        ),
        "report reader -> key, directly": Edge(
            call(READER, "kms:Decrypt", key, **bucket_context),
            s.managed(readers, READER),
            s.key(),
            resource_must_allow=True,
            denied=True,
        ),
        "report reader -> overwrite a report": Edge(
            call(READER, "s3:PutObject", report),
            s.managed(readers, READER),
            s.bucket(),
            denied=True,
        ),
        "report reader -> DLQ": Edge(
            call(READER, "sqs:ReceiveMessage", s.ref("aws_sqs_queue", "arn", name=f"payout-processing-dlq-{suffix}")),
            s.managed(readers, READER),
            s.queue(f"payout-processing-dlq-{suffix}"),
            denied=True,
        ),
    }
    for operator in OPERATORS:
        name = operator.rsplit("/", 1)[1]
        for queue in (f"payout-processing-dlq-{suffix}", f"payout-schedule-dlq-{suffix}", f"event-relay-dlq-{suffix}"):
            rows[f"operator {name} -> read {queue}"] = Edge(
                call(operator, "sqs:ReceiveMessage", s.ref("aws_sqs_queue", "arn", name=queue)),
                s.managed(operators, operator),
                s.queue(queue),
            )
            rows[f"operator {name} -> delete a message of {queue}"] = Edge(
                call(operator, "sqs:DeleteMessage", s.ref("aws_sqs_queue", "arn", name=queue)),
                s.managed(operators, operator),
                s.queue(queue),
            )
        rows[f"operator {name} -> redrive a payout event"] = Edge(
            call(operator, "lambda:InvokeFunction", payout_fn),
            s.managed(operators, operator),
            None,
        )
        rows[f"operator {name} -> redrive a relay batch"] = Edge(
            call(operator, "lambda:InvokeFunction", relay_fn), s.managed(operators, operator), None
        )
        rows[f"operator {name} -> read a stream to redrive"] = Edge(
            call(operator, "dynamodb:GetRecords", f"{table}/stream/2026-12-01T00:00:00.000"),
            s.managed(operators, operator),
            None,
        )
        rows[f"operator {name} -> query the referral table"] = Edge(
            call(operator, "dynamodb:Query", f"{table}/index/referrer-index"),
            s.managed(operators, operator),
            None,
        )
        rows[f"operator {name} -> key, through SQS and DynamoDB"] = Edge(
            call(operator, "kms:Decrypt", key, **via("dynamodb")),
            s.managed(operators, operator),
            s.key(),
            resource_must_allow=True,
        )
        # `referrals status` and `referrals referrer`: neither has a resource policy.
        rows[f"operator {name} -> see one of the stack's alarms"] = Edge(
            call(operator, "cloudwatch:DescribeAlarms", alarm), s.managed(operators, operator), None
        )
        rows[f"operator {name} -> see another stack's alarm"] = Edge(
            call(operator, "cloudwatch:DescribeAlarms", alarm_arn("payroll-errors")),
            s.managed(operators, operator),
            None,
            denied=True,
        )
        rows[f"operator {name} -> read the API's key"] = Edge(
            call(operator, "apigateway:GET", api_key), s.managed(operators, operator), None
        )
        rows[f"operator {name} -> read another API key"] = Edge(
            call(operator, "apigateway:GET", f"arn:{PARTITION}:apigateway:{REGION}::/apikeys/other"),
            s.managed(operators, operator),
            None,
            denied=True,
        )
        rows[f"operator {name} -> change the API's key"] = Edge(
            call(operator, "apigateway:PATCH", api_key), s.managed(operators, operator), None, denied=True
        )
        # `referrals` review commands and the e-mail key backfill.
        stage = suffix  # the stage is named after the environment
        for route, resource in admin_route_calls(s, stage).items():
            rows[f"operator {name} -> admin route {route}"] = Edge(
                call(operator, "execute-api:Invoke", resource), s.managed(operators, operator), None
            )
        rows[f"operator {name} -> public route POST /signup"] = Edge(
            call(
                operator,
                "execute-api:Invoke",
                f"{s.ref('aws_api_gateway_rest_api', 'execution_arn')}/{stage}/POST/signup",
            ),
            s.managed(operators, operator),
            None,
            denied=True,
        )
        rows[f"operator {name} -> e-mail HMAC key (GenerateMac, the backfill)"] = Edge(
            call(operator, "kms:GenerateMac", email_key),
            s.managed(operators, operator),
            s.email_key(),
            resource_must_allow=True,
        )
        leading_keys = "dynamodb:LeadingKeys"
        email_key_item = Request(
            ("AWS", operator), "dynamodb:PutItem", table, {**TLS, leading_keys: (f"{'ab' * 32}#email",)}
        )
        rows[f"operator {name} -> put an e-mail key item (the backfill)"] = Edge(
            email_key_item, s.managed(operators, operator), None
        )
        for what, partition_key in {
            "a profile": "alice",
            "a referral's clawback": "bob#clawback",
            "an e-mail key's look-alike": "x#emails",
        }.items():
            rows[f"operator {name} -> put {what} (only e-mail keys may be written)"] = Edge(
                Request(("AWS", operator), "dynamodb:PutItem", table, {**TLS, leading_keys: (partition_key,)}),
                s.managed(operators, operator),
                None,
                denied=True,
            )
        for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
            rows[f"operator {name} -> {action} an e-mail key item"] = Edge(
                Request(("AWS", operator), action, table, {**TLS, leading_keys: (f"{'ab' * 32}#email",)}),
                s.managed(operators, operator),
                None,
                denied=True,
            )
        rows[f"operator {name} -> put into the idempotency table"] = Edge(
            Request(
                ("AWS", operator),
                "dynamodb:PutItem",
                s.ref("aws_dynamodb_table", "arn", name=f"payout-idempotency-{suffix}"),
                {**TLS, leading_keys: ("x#email",)},
            ),
            s.managed(operators, operator),
            None,
            denied=True,
        )
        rows[f"operator {name} -> key, through S3 (reports)"] = Edge(
            call(operator, "kms:Decrypt", key, **via("s3"), **bucket_context),
            s.managed(operators, operator),
            s.key(),
            resource_must_allow=True,
            denied=True,
        )
    return rows


def verdict(edge: Edge) -> tuple[str | None, str | None]:
    identity = None if edge.identity is None else decide(edge.identity, edge.request, resource_policy=False)
    resource = None if edge.resource is None else decide(edge.resource, edge.request, resource_policy=True)
    return identity, resource


def is_allowed(edge: Edge) -> bool:
    identity, resource = verdict(edge)
    if resource == DENY or identity in (DENY, NO_OPINION):
        return False
    # The caller's own policy allowed (or it has none): the resource must allow where it decides alone.
    if edge.resource_must_allow or identity is None:
        return resource == ALLOW
    return True


def test_every_edge_is_allowed_on_both_sides_or_denied(people_synth: Synth) -> None:
    table = edges(people_synth, "people")
    wrong = []
    for name, edge in table.items():
        if is_allowed(edge) is edge.denied:
            identity, resource = verdict(edge)
            expected = "denied" if edge.denied else "allowed"
            wrong.append(f"{name}: expected {expected}; caller's policy: {identity}, resource policy: {resource}")
    assert not wrong, "\n".join(wrong)
    assert len(table) >= 40


def test_the_evaluator_understands_every_document_of_the_table(people_synth: Synth) -> None:
    stack = Stack(people_synth, "people")
    edges_of(stack)
    assert stack.docs
    for document in stack.docs:
        assert unsupported(document) == [], document


def test_without_people_configured_nobody_but_the_services_is_let_in(synth: Synth) -> None:
    """The default configuration: the keys, bucket and queues name no person; the one managed policy,
    the admin callers', is attached to no role."""
    key = json.loads(synth.one("aws_kms_key", enable_key_rotation=True)["policy"])
    request = Request(("AWS", READER), "kms:Decrypt", "*", {**TLS, "kms:ViaService": f"s3.{REGION}.amazonaws.com"})
    assert decide(key, request, resource_policy=True) == NO_OPINION
    email_key = json.loads(synth.one("aws_kms_key", customer_master_key_spec="HMAC_256")["policy"])
    mac = Request(("AWS", OPERATORS[0]), "kms:GenerateMac", "*", TLS)
    assert decide(email_key, mac, resource_policy=True) == NO_OPINION
    assert [p["name"] for p in synth.resources("aws_iam_policy").values()] == ["referral-admin-callers-dev"]
    assert not [a for a in synth.resources("aws_iam_role_policy_attachment").values() if "lifecycle" in a]
    for policy in synth.resources("aws_sqs_queue_policy").values():
        assert [s["Effect"] for s in json.loads(policy["policy"])["Statement"]] == ["Deny"]
    (bucket,) = synth.resources("aws_s3_bucket_policy").values()
    assert [s["Effect"] for s in json.loads(bucket["policy"])["Statement"]] == ["Deny"]


def test_the_default_environment_has_every_service_edge_too(synth: Synth) -> None:
    """The service rows hold without people configured (their rows need the roles, so they are left out)."""
    table = edges(synth, "dev", with_people=False)
    wrong = [name for name, edge in table.items() if is_allowed(edge) is edge.denied]
    assert not wrong
