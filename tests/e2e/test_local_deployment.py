"""End to end on a local AWS emulator: the synthesized Terraform applies, a plan right after changes
nothing but the emulator's known gaps, the emulator holds what the stacks declare, the referral flow
behaves through the deployed API and schedule, the event relay run on the tables' streams as their
mappings deliver them publishes one message per referral and payout to a subscriber of the reward
topic, a second environment lives and goes beside the first, destroy empties it.

One deployment of both stacks for the module, and a second environment's tap-stack beside it
(conftest.py, background.py); the flow runs once (tools/referral_flow.py) and the tests read its
answers and the emulator's state. The last test destroys.
"""

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.e2e.background import SECOND_SUFFIX, SecondEnvironment
from tools.emulator_gaps import allowed_drift
from tools.local_lambda import deployed_function, deployed_routes, deployed_schedule
from tools.local_stack import ACCOUNT_STACK_NAME, LOCAL_SUFFIX, REGION, LocalDeployment, Terraform, tear_down
from tools.referral_flow import DEADLINE_SCHEDULE, PAYOUT_SCHEDULE, REFERRALS, UNKNOWN_CODE, FlowResult, friend_of
from tools.terraform_plan import Plan

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")

SUFFIX = LOCAL_SUFFIX
# The default tiers: 10 for referrals 1-4, 15 for 5-9, 20 for 10-24, 25 from the 25th.
TIERS = ((25, Decimal(25)), (10, Decimal(20)), (5, Decimal(15)), (1, Decimal(10)))


def expected_reward(referral_number: int) -> Decimal:
    return next(amount for threshold, amount in TIERS if referral_number >= threshold)


def expected_total(referrer: str) -> Decimal:
    return sum((expected_reward(n) for n in range(1, REFERRALS[referrer] + 1)), Decimal(0))


def synthesized_resources(terraform: Terraform) -> set[str]:
    resources = json.loads(terraform.synthesized_json()).get("resource", {})
    return {f"{kind}.{name}" for kind, named in resources.items() for name in named}


def managed_resources(addresses: list[str]) -> set[str]:
    return {address for address in addresses if not address.startswith("data.")}


def account_role_name(deployment: LocalDeployment) -> str:
    """The role API Gateway's account setting names (every environment's access logs use it)."""
    role_arn = deployment.client("apigateway").get_account()["cloudwatchRoleArn"]
    return str(role_arn).rsplit("/", 1)[-1]


def scan(deployment: LocalDeployment, table: str) -> list[dict[str, Any]]:
    deserializer = TypeDeserializer()
    pages = deployment.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [{k: deserializer.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]


# What the apply created ---------------------------------------------------------------------------


def test_apply_created_every_synthesized_resource_of_both_stacks(deployment: LocalDeployment) -> None:
    stacks = deployment.stacks()
    assert [stack.stack for stack in stacks] == [ACCOUNT_STACK_NAME, "tap-stack"]  # the order of the applies
    applied = {stack.stack: managed_resources(stack.state_addresses()) for stack in stacks}
    assert applied == {stack.stack: synthesized_resources(stack) for stack in stacks}


def test_a_plan_right_after_the_apply_changes_only_the_emulator_gaps(plans_after_apply: dict[str, Plan]) -> None:
    """On AWS the plan would be empty; on moto it is exactly tools/emulator_gaps.py's EMULATOR_PLAN_GAPS."""
    drift = {stack: plan.drift() for stack, plan in plans_after_apply.items()}
    assert drift == {ACCOUNT_STACK_NAME: allowed_drift(ACCOUNT_STACK_NAME), "tap-stack": allowed_drift("tap-stack")}


def test_the_account_setting_names_the_account_stacks_role(deployment: LocalDeployment) -> None:
    role = deployment.client("iam").get_role(RoleName=account_role_name(deployment))["Role"]
    assert role["RoleName"] == f"referral-api-gateway-logs-{REGION}"
    assert role["Arn"] == deployment.account.outputs()["api-gateway-logging-role-arn"]


def test_tables_have_their_keys_indexes_recovery_and_ttl(deployment: LocalDeployment) -> None:
    dynamodb = deployment.client("dynamodb")
    referral_table = deployment.outputs["referral-table-name"]
    table = dynamodb.describe_table(TableName=referral_table)["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "user_id", "KeyType": "HASH"},
        {"AttributeName": "referral_timestamp", "KeyType": "RANGE"},
    ]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
        "referrer-index",
        "pending-rewards-index",
        "payout-index",
        "payable-rewards-index",
        "review-queue-index",
        "open-clawbacks-index",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    idempotency_table = deployment.outputs["idempotency-table-name"]
    for name in (referral_table, idempotency_table):
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=idempotency_table)["TimeToLiveDescription"]
    assert (ttl["AttributeName"], ttl["TimeToLiveStatus"]) == ("ttl", "ENABLED")


def test_reports_bucket_is_versioned_encrypted_private_with_lifecycle(deployment: LocalDeployment) -> None:
    s3, bucket = deployment.client("s3"), deployment.outputs["s3-bucket"]
    assert bucket.startswith(f"payout-reports-{SUFFIX}-")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].startswith("arn:aws:kms:")
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"}]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_topic_and_dead_letter_queues_are_encrypted(deployment: LocalDeployment) -> None:
    topic = deployment.client("sns").get_topic_attributes(TopicArn=deployment.outputs["sns-topic"])["Attributes"]
    assert topic["TopicArn"].endswith(f":reward-notifications-{SUFFIX}")
    assert topic["KmsMasterKeyId"].startswith("arn:aws:kms:")
    sqs = deployment.client("sqs")
    for name in (f"payout-processing-dlq-{SUFFIX}", f"payout-schedule-dlq-{SUFFIX}", f"event-relay-dlq-{SUFFIX}"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
        assert attributes["KmsMasterKeyId"].startswith("arn:aws:kms:")
    assert deployment.outputs["dlq-url"].endswith(f"/payout-processing-dlq-{SUFFIX}")


def test_functions_have_their_code_settings_and_environment(deployment: LocalDeployment) -> None:
    outputs = deployment.outputs
    reward = deployed_function(deployment, outputs["reward-calc-lambda-name"])
    payout = deployed_function(deployment, outputs["payout-lambda-name"])
    assert (reward.handler, reward.timeout_seconds, reward.memory_mb) == ("reward_calculator.handler.handler", 30, 512)
    assert (payout.handler, payout.timeout_seconds, payout.memory_mb) == ("payout_processor.handler.handler", 300, 1024)
    shared = {"REFERRAL_TABLE_NAME": outputs["referral-table-name"], "REGION": REGION}
    assert reward.environment.pop("REVIEW_EMAIL_KEY_ARN") == outputs["review-email-key-arn"]
    assert reward.environment == shared | {
        "POWERTOOLS_SERVICE_NAME": "reward-calculator",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
        "REWARD_HOLD_DAYS": "0",
        "REWARD_QUALIFICATION": "signup",
        "REVIEW_SHARED_EMAIL": "true",
    }
    key = deployment.client("kms").describe_key(KeyId=outputs["review-email-key-arn"])["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    admin = deployed_function(deployment, outputs["admin-function-name"])
    assert (admin.handler, admin.timeout_seconds, admin.memory_mb) == ("referral_admin.handler.handler", 30, 256)
    assert admin.environment == shared | {
        "REWARD_HOLD_DAYS": "0",
        "POWERTOOLS_SERVICE_NAME": "referral-admin",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    }
    key_arn = payout.environment.pop("REPORTS_KMS_KEY_ARN")
    assert key_arn.startswith("arn:aws:kms:")
    assert payout.environment == shared | {
        "IDEMPOTENCY_TABLE_NAME": outputs["idempotency-table-name"],
        "REPORTS_BUCKET_NAME": outputs["s3-bucket"],
        "POWERTOOLS_SERVICE_NAME": "payout-processor",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    }
    lambda_ = deployment.client("lambda")
    assert lambda_.get_function_configuration(FunctionName=payout.name)["Runtime"] == "python3.12"
    assert lambda_.get_function_concurrency(FunctionName=payout.name)["ReservedConcurrentExecutions"] == 5
    # Only the event relay knows the topic: the outbox publishes, the functions commit.
    relay = deployed_function(deployment, outputs["event-relay-lambda-name"])
    assert relay.handler == "event_relay.handler.handler"
    assert relay.environment == {
        "SNS_TOPIC_ARN": outputs["sns-topic"],
        "REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "event-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    }


def test_both_table_streams_feed_the_relay(deployment: LocalDeployment) -> None:
    outputs, lambda_ = deployment.outputs, deployment.client("lambda")
    relay = deployed_function(deployment, outputs["event-relay-lambda-name"])
    dynamodb = deployment.client("dynamodb")
    streams = {
        dynamodb.describe_table(TableName=outputs[name])["Table"]["LatestStreamArn"]
        for name in ("referral-table-name", "idempotency-table-name")
    }
    # Listed per stream: moto finds no mapping by the function's name (tools/emulator_gaps.py).
    mappings = [
        mapping
        for stream in streams
        for mapping in lambda_.list_event_source_mappings(EventSourceArn=stream)["EventSourceMappings"]
    ]
    assert {(m["EventSourceArn"], m["FunctionArn"]) for m in mappings} == {(stream, relay.arn) for stream in streams}
    assert len(mappings) == len(streams)
    for mapping in mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(f":event-relay-dlq-{SUFFIX}")
        assert (mapping["StartingPosition"], mapping["BatchSize"], mapping["State"]) == ("TRIM_HORIZON", 100, "Enabled")
        assert (mapping["BisectBatchOnFunctionError"], mapping["MaximumRetryAttempts"]) == (True, 10)
        assert mapping["MaximumRecordAgeInSeconds"] == 3600
    assert outputs["relay-dlq-url"].endswith(f"/event-relay-dlq-{SUFFIX}")


def test_api_routes_go_to_their_functions_on_the_stage(deployment: LocalDeployment) -> None:
    api_id, reward = deployment.outputs["api-gateway-id"], deployment.outputs["reward-calc-lambda-name"]
    admin = deployment.outputs["admin-function-name"]
    routes = {(route.method, route.resource, route.function_name) for route in deployed_routes(deployment, api_id)}
    assert routes == {
        ("POST", "/signup", reward),
        ("GET", "/referrers/{code}", reward),
        ("GET", "/referrals", admin),
        *(("POST", f"/referrals/{{userId}}/{action}", admin) for action in ("qualify", "approve", "reverse")),
    }
    apigateway = deployment.client("apigateway")
    for resource in apigateway.get_resources(restApiId=api_id)["items"]:
        for method in resource.get("resourceMethods", {}):
            integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
            assert integration["type"] == "AWS_PROXY"
            described = apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
            signed = resource["path"].startswith("/referrals")
            assert (described["authorizationType"], described["apiKeyRequired"]) == (
                ("AWS_IAM", False) if signed else ("NONE", True)
            ), resource["path"]
    stage = apigateway.get_stage(restApiId=api_id, stageName=SUFFIX)
    assert stage["tracingEnabled"] is True
    assert deployment.outputs["api-endpoint"].rstrip("/").endswith(f"/{SUFFIX}")


@pytest.mark.parametrize(
    ("name", "expression"), [(PAYOUT_SCHEDULE, "cron(0 2 1 * ? *)"), (DEADLINE_SCHEDULE, "cron(0 3 1 * ? *)")]
)
def test_schedules_invoke_the_payout_monthly_with_their_scheduled_time(
    deployment: LocalDeployment, name: str, expression: str
) -> None:
    schedule = deployed_schedule(deployment, name)
    payout = deployed_function(deployment, deployment.outputs["payout-lambda-name"])
    assert (schedule.expression, schedule.timezone, schedule.target_arn) == (expression, "UTC", payout.arn)
    assert json.loads(schedule.input_template)["scheduledTime"] == "<aws.scheduler.scheduled-time>"


def test_dashboard_and_alarms_exist(deployment: LocalDeployment) -> None:
    cloudwatch = deployment.client("cloudwatch")
    dashboard = cloudwatch.get_dashboard(DashboardName=f"referral-management-{SUFFIX}")
    assert json.loads(dashboard["DashboardBody"])["widgets"]
    alarms = {alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert {f"reward-calculation-{SUFFIX}-errors", f"payout-processing-{SUFFIX}-errors"} <= alarms


# The flow through the deployed API and schedule ---------------------------------------------------


def test_referrers_enrol_and_get_their_codes(flow: FlowResult) -> None:
    answers = [
        (exchange.answer.status, exchange.answer.body.get("referralCode")) for exchange in flow.signups.enrolments
    ]
    assert answers == [(201, code) for code in REFERRALS]


def test_each_signup_earns_the_tier_of_its_referral_number(flow: FlowResult) -> None:
    expected = [
        (200, friends_referrer, n, expected_reward(n))
        for friends_referrer, friends in REFERRALS.items()
        for n in range(1, friends + 1)
    ]
    actual = [
        (e.answer.status, e.body["referralCode"], e.answer.body["referralCount"], e.answer.body["rewardAmount"])
        for e in flow.signups.signups
        if isinstance(e.body, dict)
    ]
    assert actual == expected
    # alice crosses both tier boundaries: 4 x 10, 5 x 15, 3 x 20.
    assert expected_total("alice") == Decimal(175)


def test_refused_requests_answer_4xx_and_write_nothing(flow: FlowResult, deployment: LocalDeployment) -> None:
    answers = [(exchange.answer.status, exchange.answer.body["error"]) for exchange in flow.signups.refusals]
    assert answers == [
        (400, "request body must be valid UTF-8 JSON"),
        (404, f"referralCode {UNKNOWN_CODE!r} does not exist"),
        (409, f"userId {friend_of('alice', 1)!r} has already signed up"),
    ]
    items = scan(deployment, deployment.outputs["referral-table-name"])
    assert not [item for item in items if item["user_id"] in ("carol", "dave")]
    profiles = {item["user_id"]: item for item in items if item["referral_timestamp"] == 0}
    assert profiles[friend_of("alice", 1)]["referred_by"] == "alice"
    assert profiles["bob"]["referral_count"] == REFERRALS["bob"]


def test_statistics_before_and_after_the_payout(flow: FlowResult) -> None:
    def stats(exchanges: list) -> dict[str, tuple]:
        return {
            e.answer.body["referralCode"]: (
                e.answer.body["referralCount"],
                e.answer.body["totalRewards"],
                e.answer.body["pendingAmount"],
                e.answer.body["paidAmount"],
            )
            for e in exchanges
        }

    assert stats(flow.signups.stats) == {
        code: (count, expected_total(code), expected_total(code), 0) for code, count in REFERRALS.items()
    }
    assert stats(flow.stats_after) == {
        code: (count, expected_total(code), 0, expected_total(code)) for code, count in REFERRALS.items()
    }


def test_the_scheduled_payout_pays_every_reward_once(flow: FlowResult, deployment: LocalDeployment) -> None:
    scheduled = datetime.fromisoformat(flow.payout.event["scheduledTime"].replace("Z", "+00:00"))
    month = f"{scheduled.year - (scheduled.month == 1)}-{(scheduled.month - 2) % 12 + 1:02d}"  # the month before
    assert scheduled <= datetime.now(UTC)
    key = f"payouts/{month}/payout-report.csv"
    assert flow.payout.answer == {
        "message": f"Payout payout-{month} completed",
        "payoutId": f"payout-{month}",
        "payoutMonth": month,
        "status": "completed",
        "totalReferrers": len(REFERRALS),
        "totalAmount": f"{sum(map(expected_total, REFERRALS)):.2f}",
        "rewardsPaid": sum(REFERRALS.values()),
        "reportLocation": f"s3://{deployment.outputs['s3-bucket']}/{key}",
        # Nothing was clawed back in the flow: the gross is what is paid.
        "grossAmount": f"{sum(map(expected_total, REFERRALS)):.2f}",
        "clawedBackAmount": "0.00",
        "carriedForwardAmount": "0.00",
        "clawbacksSettled": 0,
    }
    assert flow.payout.repeat["status"] == "already_completed"
    assert flow.payout.repeat["rewardsPaid"] == flow.payout.answer["rewardsPaid"]
    assert flow.payout.deadline_check == {"payoutId": f"payout-{month}", "status": "completed", "deadlineMissed": False}


def test_report_has_one_row_per_referrer(flow: FlowResult) -> None:
    assert flow.payout.report_rows() == [
        # The seed's four columns first, then the netting's.
        [
            *("Referrer ID", "Total Amount", "Referral Count", "Payment Status"),
            *("Gross Amount", "Clawed Back", "Carried Forward"),
        ],
        *[
            [code, f"{expected_total(code):.2f}", str(count), "paid", f"{expected_total(code):.2f}", "0.00", "0.00"]
            for code, count in sorted(REFERRALS.items())
        ],
    ]
    assert flow.payout.report.endswith("\r\n")


def test_every_referral_is_paid_by_the_payout(flow: FlowResult, deployment: LocalDeployment) -> None:
    items = scan(deployment, deployment.outputs["referral-table-name"])
    referrals = [item for item in items if item["referral_timestamp"] != 0]
    assert len(referrals) == sum(REFERRALS.values())
    assert {item["status"] for item in referrals} == {"paid"}
    assert {item["payout_id"] for item in referrals} == {flow.payout.answer["payoutId"]}
    assert not [item for item in referrals if "pending_reward" in item]
    run = deployment.client("dynamodb").get_item(
        TableName=deployment.outputs["idempotency-table-name"],
        Key={"idempotency_key": {"S": flow.payout.answer["payoutId"]}},
        ConsistentRead=True,
    )["Item"]
    assert run["status"]["S"] == "completed"


# What the event relay published from the table streams ------------------------------------------


def test_the_relay_ran_on_both_streams_without_a_failed_record(flow: FlowResult, deployment: LocalDeployment) -> None:
    tables = {deployment.outputs["referral-table-name"], deployment.outputs["idempotency-table-name"]}
    for run in (flow.relay.after_signups, flow.relay.after_payout):
        assert set(run.records) == tables
        assert run.failed == 0
        assert sum(invocation.records for invocation in run.invocations) == sum(run.records.values())
    assert flow.relay.after_signups.records[deployment.outputs["referral-table-name"]] > 0
    assert flow.relay.after_payout.records[deployment.outputs["idempotency-table-name"]] > 0
    assert flow.relay.batch_sizes == [100, 100]


def test_each_referral_and_the_payout_reached_the_topics_subscriber_once(
    flow: FlowResult, deployment: LocalDeployment
) -> None:
    notifications = flow.relay.notifications
    # SNS's envelope (raw delivery off): from the reward topic, with the event_type attribute.
    assert {n.topic_arn for n in notifications} == {deployment.outputs["sns-topic"]}
    assert all((n.event_type, n.attribute_type) == (n.body["type"], "String") for n in notifications)
    assert len({n.message_id for n in notifications}) == len(notifications)

    referred = [e for e in flow.signups.signups if e.answer.status == 200 and isinstance(e.body, dict)]
    rewarded = sorted((n.body for n in notifications if n.event_type == "referral.rewarded"), key=lambda b: b["userId"])
    assert rewarded == sorted(
        (
            {
                "type": "referral.rewarded",
                "userId": e.body["userId"],
                "referrerId": e.body["referralCode"],
                "rewardAmount": e.answer.body["rewardAmount"],
                "referralCount": e.answer.body["referralCount"],
                "status": "payable",
                "eventId": f"referral.rewarded:{e.body['userId']}",
            }
            for e in referred
        ),
        key=lambda b: b["userId"],
    )
    assert len(rewarded) == sum(REFERRALS.values())
    assert sum(b["rewardAmount"] for b in rewarded) == sum(map(expected_total, REFERRALS))

    answer = flow.payout.answer
    completed = [n.body for n in notifications if n.event_type == "payout.completed"]
    assert completed == [
        {
            "type": "payout.completed",
            "payoutId": answer["payoutId"],
            "payoutMonth": answer["payoutMonth"],
            "totalReferrers": len(REFERRALS),
            "totalAmount": Decimal(answer["totalAmount"]),
            "reportLocation": answer["reportLocation"],
            "grossAmount": Decimal(answer["totalAmount"]),
            "clawedBackAmount": Decimal("0.00"),
            "carriedForwardAmount": Decimal("0.00"),
            "clawbacksSettled": 0,
            "eventId": f"payout.completed:{answer['payoutId']}",
        }
    ]
    assert len(notifications) == len(rewarded) + len(completed)  # nothing else: no profile, ticket, claim or lease


# Several environments in one account ------------------------------------------------------------


def test_a_second_environment_applies_beside_the_first_and_shares_its_account_stack(
    deployment: LocalDeployment, second_environment: SecondEnvironment
) -> None:
    second = second_environment.deployment
    # It applied its tap-stack only, on the first's tap-account, which it synthesized identically.
    assert (second.suffix, second.owns_account, second.account) == (SECOND_SUFFIX, False, deployment.account)
    assert [stack.stack for stack in second.stacks()] == ["tap-stack"]
    own_account_json = second.terraform.stack_dir.parent / ACCOUNT_STACK_NAME / "cdk.tf.json"
    assert own_account_json.read_text() == deployment.account.synthesized_json()
    assert managed_resources(second_environment.applied) == synthesized_resources(second.terraform)
    assert second.outputs["referral-table-name"] == f"referral-tracking-{SECOND_SUFFIX}"
    assert second.outputs["referral-table-name"] != deployment.outputs["referral-table-name"]
    assert second_environment.plan.drift() == allowed_drift("tap-stack")


def test_destroying_the_second_environment_leaves_the_first_and_the_account_setting(
    deployment: LocalDeployment, second_environment: SecondEnvironment
) -> None:
    assert second_environment.left == []
    second = second_environment.deployment
    dynamodb = deployment.client("dynamodb")
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        dynamodb.describe_table(TableName=second.outputs["referral-table-name"])
    # The first environment and the account stack plan clean (still the emulator's gaps only) ...
    drift = {stack: plan.drift() for stack, plan in deployment.plans().items()}
    assert drift == {ACCOUNT_STACK_NAME: allowed_drift(ACCOUNT_STACK_NAME), "tap-stack": allowed_drift("tap-stack")}
    # ... and API Gateway's account setting still names a role that exists.
    deployment.client("iam").get_role(RoleName=account_role_name(deployment))


# Last: destroy ----------------------------------------------------------------------------------


def test_destroy_leaves_both_states_empty(deployment: LocalDeployment) -> None:
    tear_down(deployment)  # tap-stack, then tap-account
    assert {stack.stack: stack.state_addresses() for stack in deployment.stacks()} == {
        ACCOUNT_STACK_NAME: [],
        "tap-stack": [],
    }
    iam = deployment.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=f"referral-api-gateway-logs-{REGION}")
