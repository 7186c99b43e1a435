"""Assertions for every resource of the stack and each defect of the original app it fixes."""

import json

from referrals import contract, payout_event
from stacks import storage
from tests.stack.conftest import Synth


def test_referral_table_keys_indexes_and_protection(synth: Synth) -> None:
    table = synth.one("aws_dynamodb_table", name="referral-tracking-dev")
    assert (table["hash_key"], table["range_key"]) == ("user_id", "referral_timestamp")
    assert {"name": "user_id", "type": "S"} in table["attribute"]
    assert {"name": "referral_timestamp", "type": "N"} in table["attribute"]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["deletion_protection_enabled"] is True
    indexes = {index["name"]: index for index in table["global_secondary_index"]}
    assert indexes["referrer-index"]["hash_key"] == "referrer_id"
    pending = indexes["pending-rewards-index"]
    assert (pending["hash_key"], pending["range_key"]) == ("pending_reward", "referral_timestamp")


def test_index_names_match_the_lambda_data_contract(synth: Synth) -> None:
    """The stack may not import Lambda code, so it repeats these names; they must agree."""
    table = synth.one("aws_dynamodb_table", name="referral-tracking-dev")
    indexes = {index["name"]: index for index in table["global_secondary_index"]}
    assert storage.REFERRER_INDEX == contract.REFERRER_INDEX
    assert indexes[contract.PENDING_REWARDS_INDEX]["hash_key"] == contract.PENDING_KEY
    assert indexes[contract.PAYOUT_INDEX]["hash_key"] == contract.PAYOUT_ID
    for name in (contract.PENDING_REWARDS_INDEX, contract.PAYOUT_INDEX):
        assert indexes[name]["range_key"] == contract.REFERRAL_TIMESTAMP
        assert sorted(indexes[name]["non_key_attributes"]) == sorted(contract.PAYOUT_PROJECTION)
    # The reward lifecycle's sparse indexes: (hash, range, projection) as the Lambda code reads them.
    lifecycle = {
        contract.PAYABLE_REWARDS_INDEX: (contract.PAYABLE_KEY, contract.PAYABLE_AT, contract.PAYOUT_PROJECTION),
        contract.REVIEW_QUEUE_INDEX: (
            contract.FLAGGED_KEY,
            contract.REFERRAL_TIMESTAMP,
            contract.REVIEW_QUEUE_PROJECTION,
        ),
        contract.OPEN_CLAWBACKS_INDEX: (contract.OPEN_CLAWBACK_KEY, contract.CLAWBACK_AT, contract.PAYOUT_PROJECTION),
    }
    for name, (hash_key, range_key, projection) in lifecycle.items():
        index = indexes[name]
        assert (index["hash_key"], index["range_key"], index["projection_type"]) == (hash_key, range_key, "INCLUDE")
        assert sorted(index["non_key_attributes"]) == sorted(projection), name
    assert set(indexes) == {contract.REFERRER_INDEX, contract.PENDING_REWARDS_INDEX, contract.PAYOUT_INDEX, *lifecycle}
    key_types = {a["name"]: a["type"] for a in table["attribute"]}
    for name, (hash_key, range_key, _) in lifecycle.items():
        assert (key_types[hash_key], key_types[range_key]) == ("S", "N"), name
    assert (storage.PAYABLE_REWARDS_INDEX, storage.REVIEW_QUEUE_INDEX, storage.OPEN_CLAWBACKS_INDEX) == (
        contract.PAYABLE_REWARDS_INDEX,
        contract.REVIEW_QUEUE_INDEX,
        contract.OPEN_CLAWBACKS_INDEX,
    )


def test_idempotency_table_has_ttl_and_pitr(synth: Synth) -> None:
    table = synth.one("aws_dynamodb_table", name="payout-idempotency-dev")
    assert table["hash_key"] == contract.IDEMPOTENCY_KEY
    assert table["ttl"] == {"attribute_name": contract.TTL, "enabled": True}
    assert table["point_in_time_recovery"] == {"enabled": True}


def test_report_bucket_is_unique_but_deterministic_versioned_encrypted_private(synth: Synth) -> None:
    (bucket,) = synth.resources("aws_s3_bucket").values()
    assert bucket["bucket_prefix"] == "payout-reports-dev-"
    assert "bucket" not in bucket  # no timestamp or random name in the synthesized JSON
    bucket_id = synth.ref("aws_s3_bucket", "id", bucket_prefix="payout-reports-dev-")
    assert synth.one("aws_s3_bucket_versioning", bucket=bucket_id)["versioning_configuration"] == {"status": "Enabled"}
    sse = synth.one("aws_s3_bucket_server_side_encryption_configuration", bucket=bucket_id)
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"]
    block = synth.one("aws_s3_bucket_public_access_block", bucket=bucket_id)
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, flag
    (rule,) = synth.one("aws_s3_bucket_lifecycle_configuration", bucket=bucket_id)["rule"]
    assert rule["status"] == "Enabled"
    assert rule["transition"] == [{"days": 90, "storage_class": "GLACIER"}]
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] > 0
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] > 0


def test_topic_and_dead_letter_queue(synth: Synth) -> None:
    assert synth.one("aws_sns_topic", name="reward-notifications-dev")["kms_master_key_id"]
    queue = synth.one("aws_sqs_queue", name="payout-processing-dlq-dev")
    assert queue["message_retention_seconds"] == 14 * 24 * 3600


def test_functions_runtime_sizes_and_packaging(synth: Synth) -> None:
    reward = synth.one("aws_lambda_function", function_name="reward-calculation-dev")
    payout = synth.one("aws_lambda_function", function_name="payout-processing-dev")
    admin = synth.one("aws_lambda_function", function_name="referral-admin-dev")
    assert (reward["runtime"], reward["timeout"], reward["memory_size"]) == ("python3.12", 30, 512)
    assert (payout["runtime"], payout["timeout"], payout["memory_size"]) == ("python3.12", 300, 1024)
    assert (admin["runtime"], admin["timeout"], admin["memory_size"]) == ("python3.12", 30, 256)
    assert payout["reserved_concurrent_executions"] == 5
    dlq_arn = synth.ref("aws_sqs_queue", "arn", name="payout-processing-dlq-dev")
    assert payout["dead_letter_config"] == {"target_arn": dlq_arn}
    for function in (reward, payout, admin):
        assert function["filename"].startswith("assets/")
        assert function["source_code_hash"] == f'${{filebase64sha256("{function["filename"]}")}}'
    assert reward["handler"] == "reward_calculator.handler.handler"
    assert payout["handler"] == "payout_processor.handler.handler"
    assert admin["handler"] == "referral_admin.handler.handler"
    assert admin["role"] == synth.ref("aws_iam_role", "arn", name="referral-admin-dev-role")


def test_function_environment_follows_the_contract(synth: Synth) -> None:
    reward = synth.one("aws_lambda_function", function_name="reward-calculation-dev")["environment"]["variables"]
    payout = synth.one("aws_lambda_function", function_name="payout-processing-dev")["environment"]["variables"]
    table = synth.ref("aws_dynamodb_table", "name", name="referral-tracking-dev")
    topic = synth.ref("aws_sns_topic", "arn", name="reward-notifications-dev")
    for variables in (reward, payout):
        assert variables["REFERRAL_TABLE_NAME"] == table
        assert variables["REGION"] == "us-east-1"
    # Only the event relay publishes (tests/stack/test_event_relay.py).
    relay = synth.one("aws_lambda_function", function_name="event-relay-dev")["environment"]["variables"]
    assert relay["SNS_TOPIC_ARN"] == topic
    assert payout["IDEMPOTENCY_TABLE_NAME"] == synth.ref("aws_dynamodb_table", "name", name="payout-idempotency-dev")
    assert payout["REPORTS_BUCKET_NAME"].startswith("${aws_s3_bucket.")
    # The reward lifecycle's settings, as canonical text: all four to the reward function (the
    # burst signal only when set), the hold alone to the admin function.
    assert {k: reward[k] for k in ("REWARD_HOLD_DAYS", "REWARD_QUALIFICATION", "REVIEW_SHARED_EMAIL")} == {
        "REWARD_HOLD_DAYS": "0",
        "REWARD_QUALIFICATION": "signup",
        "REVIEW_SHARED_EMAIL": "true",
    }
    assert "REVIEW_BURST_PER_HOUR" not in reward
    admin = synth.one("aws_lambda_function", function_name="referral-admin-dev")["environment"]["variables"]
    assert admin == {
        "REFERRAL_TABLE_NAME": table,
        "REWARD_HOLD_DAYS": "0",
        "REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "referral-admin",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    }


def test_lifecycle_settings_reach_the_functions(throwaway_synth: Synth) -> None:
    reward = throwaway_synth.one("aws_lambda_function", function_name="reward-calculation-pr-7")
    admin = throwaway_synth.one("aws_lambda_function", function_name="referral-admin-pr-7")
    assert {k: v for k, v in reward["environment"]["variables"].items() if k.startswith(("REWARD_", "REVIEW_B"))} == {
        "REWARD_TIERS": '{"1": "12.50", "3": "20"}',
        "REWARD_HOLD_DAYS": "14",
        "REWARD_QUALIFICATION": "event",
        "REVIEW_BURST_PER_HOUR": "5",
    }
    assert reward["environment"]["variables"]["REVIEW_SHARED_EMAIL"] == "false"
    assert admin["environment"]["variables"]["REWARD_HOLD_DAYS"] == "14"


def test_layers_follow_the_configured_region(synth: Synth, prod_synth: Synth) -> None:
    for s, region in ((synth, "us-east-1"), (prod_synth, "eu-west-1")):
        for function in s.resources("aws_lambda_function").values():
            assert function["layers"], function["function_name"]
            for layer in function["layers"]:
                assert layer.startswith(f"arn:aws:lambda:{region}:"), layer
            assert any(":layer:LambdaInsightsExtension:" in layer for layer in function["layers"])
    assert "us-east-2" not in json.dumps(synth.json)


def test_each_function_logs_only_to_its_own_log_group(synth: Synth) -> None:
    for name in ("reward-calculation-dev", "payout-processing-dev", "event-relay-dev", "referral-admin-dev"):
        log_group = synth.ref("aws_cloudwatch_log_group", "arn", name=f"/aws/lambda/{name}")
        assert synth.one("aws_cloudwatch_log_group", name=f"/aws/lambda/{name}")["retention_in_days"] == 365
        statements = synth.role_policy(f"{name}-role")["Statement"]
        log_actions = {a for s in statements for a in s["Action"] if a.startswith("logs:")}
        assert log_actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
        for statement in statements:
            assert statement["Effect"] == "Allow"
            if any(a.startswith("logs:") for a in statement["Action"]):
                assert statement["Resource"] == [f"{log_group}:*"]
            if statement["Resource"] == ["*"]:
                # No resource-level permission exists for these (IAM's service reference).
                assert all(a.startswith("xray:") or a == "dynamodb:ListStreams" for a in statement["Action"]), statement
        function = synth.one("aws_lambda_function", function_name=name)
        assert any(d.startswith("aws_cloudwatch_log_group.") for d in function["depends_on"])
    attachments = synth.resources("aws_iam_role_policy_attachment").values()
    assert sum(a["policy_arn"].endswith("CloudWatchLambdaInsightsExecutionRolePolicy") for a in attachments) == 4


def test_api_routes_and_scoped_invoke_permissions(synth: Synth) -> None:
    api = synth.one("aws_api_gateway_rest_api", name="referral-api-dev")
    assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
    paths = {r["path_part"] for r in synth.resources("aws_api_gateway_resource").values()}
    assert paths == {"signup", "referrers", "{code}", "referrals", "{userId}", "qualify", "approve", "reverse"}
    methods = sorted(m["http_method"] for m in synth.resources("aws_api_gateway_method").values())
    assert methods == ["GET", "GET", "POST", "POST", "POST", "POST"]
    reward = synth.ref("aws_lambda_function", "invoke_arn", function_name="reward-calculation-dev")
    admin = synth.ref("aws_lambda_function", "invoke_arn", function_name="referral-admin-dev")
    uris = sorted(i["uri"] for i in synth.resources("aws_api_gateway_integration").values())
    assert uris == sorted([reward] * 2 + [admin] * 4)
    assert {i["type"] for i in synth.resources("aws_api_gateway_integration").values()} == {"AWS_PROXY"}
    execution_arn = synth.ref("aws_api_gateway_rest_api", "execution_arn", name="referral-api-dev")
    reward_name = synth.ref("aws_lambda_function", "function_name", function_name="reward-calculation-dev")
    admin_name = synth.ref("aws_lambda_function", "function_name", function_name="referral-admin-dev")
    source_arns = {(p["function_name"], p["source_arn"]) for p in synth.resources("aws_lambda_permission").values()}
    assert source_arns == {
        (reward_name, f"{execution_arn}/*/POST/signup"),
        (reward_name, f"{execution_arn}/*/GET/referrers/*"),
        (admin_name, f"{execution_arn}/*/POST/referrals/*/qualify"),
        (admin_name, f"{execution_arn}/*/POST/referrals/*/approve"),
        (admin_name, f"{execution_arn}/*/POST/referrals/*/reverse"),
        (admin_name, f"{execution_arn}/*/GET/referrals"),
    }


def test_api_redeploys_on_change_with_stage_and_throttling(synth: Synth) -> None:
    (deployment,) = synth.resources("aws_api_gateway_deployment").values()
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode(")
    for resource_type in ("aws_api_gateway_method", "aws_api_gateway_integration", "aws_api_gateway_resource"):
        for key in synth.resources(resource_type):
            assert f"{resource_type}.{key}.id" in trigger
    (stage,) = synth.resources("aws_api_gateway_stage").values()
    assert stage["stage_name"] == "dev"
    (settings,) = synth.resources("aws_api_gateway_method_settings").values()
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {
        "throttling_rate_limit": 50,
        "throttling_burst_limit": 100,
        "metrics_enabled": True,
        "logging_level": "ERROR",
        "data_trace_enabled": False,
    }


def test_monthly_schedule_carries_the_runs_own_time(synth: Synth) -> None:
    schedule = synth.one("aws_scheduler_schedule", name="monthly-payout-dev")
    assert schedule["schedule_expression"] == "cron(0 2 1 * ? *)"
    assert schedule["schedule_expression_timezone"] == "UTC"
    target = schedule["target"]
    assert target["arn"] == synth.ref("aws_lambda_function", "arn", function_name="payout-processing-dev")
    payload = json.loads(target["input"])
    assert payload["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert target["retry_policy"]["maximum_retry_attempts"] > 0
    assert target["dead_letter_config"]["arn"] == synth.ref("aws_sqs_queue", "arn", name="payout-schedule-dlq-dev")
    statements = synth.role_policy("payout-scheduler-dev-role")["Statement"]
    assert "check" not in payload
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert invoke == [
        {"Sid": "InvokePayoutOnly", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [target["arn"]]}
    ]


def test_dashboard_widgets_are_well_formed(synth: Synth) -> None:
    (dashboard,) = synth.resources("aws_cloudwatch_dashboard").values()
    body = json.loads(dashboard["dashboard_body"])
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(metric_widgets) >= 8
    namespaces = set()
    for widget in metric_widgets:
        properties = widget["properties"]
        assert properties["region"] == "us-east-1"
        for key in ("x", "y", "width", "height"):
            assert isinstance(widget[key], int)
        for entry in properties["metrics"]:
            options = entry[-1] if isinstance(entry[-1], dict) else None
            names = entry[:-1] if options else entry
            assert all(isinstance(part, str) and part for part in names), entry
            # namespace, metric name, then dimension name/value pairs
            assert len(names) >= 2 and len(names) % 2 == 0, entry
            namespaces.add(names[0])
    assert {"AWS/ApiGateway", "AWS/Lambda", "AWS/DynamoDB", "AWS/SQS"} <= namespaces
    titles = " ".join(w["properties"]["title"] for w in metric_widgets)
    for subject in ("reward-calculation-dev", "payout-processing-dev", "referral-tracking-dev", "Dead-letter"):
        assert subject in titles


def test_alarms_notify_the_ops_topic(synth: Synth) -> None:
    ops_topic = synth.ref("aws_sns_topic", "arn", name="ops-alerts-dev")
    alarms = synth.resources("aws_cloudwatch_metric_alarm").values()
    assert {a["metric_name"] for a in alarms} >= {
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
        "5XXError",
        "IteratorAge",
    }
    for alarm in alarms:
        assert alarm["alarm_actions"] == [ops_topic]


def test_outputs_keep_the_original_names(synth: Synth) -> None:
    # The original's ten outputs, plus what callers and operators need (see docs/resources.md).
    added = {
        "api-key-id",
        "schedule-dlq-url",
        "relay-dlq-url",
        "event-relay-lambda-name",
        "ops-topic-arn",
        "alarm-names",
        "kms-key-arn",
        "admin-function-name",
        "admin-caller-policy-arn",
        "review-email-key-arn",
    }
    assert set(synth.json["output"]) - added == {
        "api-endpoint",
        "api-gateway-id",
        "referral-table-name",
        "idempotency-table-name",
        "s3-bucket",
        "sns-topic",
        "reward-calc-lambda-name",
        "payout-lambda-name",
        "dlq-url",
        "dashboard-url",
    }
    assert "region=us-east-1#dashboards:name=referral-management-dev" in synth.json["output"]["dashboard-url"]["value"]


def test_provider_region_tags_and_local_state_by_default(synth: Synth) -> None:
    (provider,) = synth.json["provider"]["aws"]
    assert provider["region"] == "us-east-1"
    assert provider["default_tags"] == [
        {"tags": {"Environment": "dev", "Application": "ReferralManagement", "ManagedBy": "CDKTF"}}
    ]
    assert synth.json["terraform"]["backend"] == {"local": {"path": "../../../terraform.dev.tap-stack.tfstate"}}
    assert synth.json["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


def test_remote_state_backend_and_region_are_honoured(prod_synth: Synth) -> None:
    (provider,) = prod_synth.json["provider"]["aws"]
    assert provider["region"] == "eu-west-1"
    assert prod_synth.json["terraform"]["backend"] == {
        "s3": {
            "bucket": "acme-terraform-state",
            "key": "prod/tap-stack.tfstate",
            "region": "eu-central-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    assert "region=eu-west-1" in prod_synth.json["output"]["dashboard-url"]["value"]
    for function in prod_synth.resources("aws_lambda_function").values():
        assert function["environment"]["variables"]["REGION"] == "eu-west-1"


def test_deadline_check_asks_the_payout_function_at_0300_and_is_alarmed(synth: Synth) -> None:
    check = synth.one("aws_scheduler_schedule", name="payout-deadline-check-dev")
    assert (check["schedule_expression"], check["schedule_expression_timezone"]) == ("cron(0 3 1 * ? *)", "UTC")
    assert check["target"]["arn"] == synth.ref("aws_lambda_function", "arn", function_name="payout-processing-dev")
    payload = json.loads(check["target"]["input"])
    assert (payload["check"], payload["scheduledTime"]) == ("completed", "<aws.scheduler.scheduled-time>")
    assert {"check": payload["check"]} == payout_event.DEADLINE_CHECK  # the function's side of the contract
    alarm = synth.one("aws_cloudwatch_metric_alarm", alarm_name="payout-deadline-missed-dev")
    assert (alarm["metric_name"], alarm["dimensions"]) == ("PayoutDeadlineMissed", {"service": "payout-processor"})
    assert (alarm["statistic"], alarm["threshold"], alarm["comparison_operator"]) == (
        "Maximum",
        0,
        "GreaterThanThreshold",
    )
