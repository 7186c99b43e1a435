"""Security controls of the hardening issue, each asserted on the synthesized JSON."""

import json

from stacks.api_schema import REVERSE_SCHEMA
from tests.stack.conftest import Synth

DATA_ACTIONS = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:Decrypt*"}


def _key_policy(synth: Synth) -> list[dict]:
    return json.loads(synth.one("aws_kms_key", enable_key_rotation=True)["policy"])["Statement"]


def test_one_data_key_with_rotation_and_one_hmac_key_for_the_email_keys(synth: Synth) -> None:
    keys = list(synth.resources("aws_kms_key").values())
    assert len(keys) == 2
    for key in keys:
        assert key["deletion_window_in_days"] == 30
    # Every key that can rotate does; the HMAC key cannot (KMS rotates only symmetric encryption
    # keys), which is the one checkov waiver of CKV_AWS_7 (.checkov.yaml).
    (data_key,) = [k for k in keys if k.get("customer_master_key_spec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"]
    assert data_key["enable_key_rotation"] is True
    hmac_key = synth.one("aws_kms_key", customer_master_key_spec="HMAC_256")
    assert (hmac_key["key_usage"], hmac_key["enable_key_rotation"]) == ("GENERATE_VERIFY_MAC", False)


def test_only_the_reward_role_may_derive_the_email_key_secret(synth: Synth, people_synth: Synth) -> None:
    reward_role = synth.ref("aws_iam_role", "arn", name="reward-calculation-dev-role")
    statements = json.loads(synth.one("aws_kms_key", customer_master_key_spec="HMAC_256")["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"KeyAdministrationByTheAccount", "DeriveEmailKeySecret"}
    assert by_sid["DeriveEmailKeySecret"]["Principal"] == {"AWS": [reward_role]}
    assert by_sid["DeriveEmailKeySecret"]["Action"] == ["kms:GenerateMac"]
    assert not [a for a in by_sid["KeyAdministrationByTheAccount"]["Action"] if "Mac" in a or a.startswith("kms:Gen")]
    # With operators configured, they may too (the `referrals` CLI's e-mail key backfill).
    people = json.loads(people_synth.one("aws_kms_key", customer_master_key_spec="HMAC_256")["policy"])["Statement"]
    (derive,) = [s for s in people if s["Sid"] == "DeriveEmailKeySecret"]
    assert derive["Principal"]["AWS"][1:] == [
        "arn:aws:iam::123456789012:role/oncall",
        "arn:aws:iam::123456789012:role/sre",
    ]
    reward = synth.one("aws_lambda_function", function_name="reward-calculation-dev")["environment"]["variables"]
    hmac_key = synth.ref("aws_kms_key", "arn", customer_master_key_spec="HMAC_256")
    assert reward["REVIEW_EMAIL_KEY_ARN"] == hmac_key
    assert synth.json["output"]["review-email-key-arn"]["value"] == hmac_key
    for function in synth.resources("aws_lambda_function").values():  # only the reward function knows it
        if function["function_name"] != "reward-calculation-dev":
            assert "REVIEW_EMAIL_KEY_ARN" not in function["environment"]["variables"], function["function_name"]


def test_key_policy_names_only_its_users_and_the_account_cannot_decrypt(synth: Synth) -> None:
    statements = {s["Sid"]: s for s in _key_policy(synth)}
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] != "*"
        assert statement["Principal"] != {"AWS": "*"}
    root_actions = {
        action
        for s in statements.values()
        if str(s["Principal"].get("AWS", "")).endswith(":root")
        for action in s["Action"]
    }
    assert not root_actions & DATA_ACTIONS - {"kms:Encrypt"}, "the account root must not decrypt"
    roles = set(statements["DataUseByFunctionAndSchedulerRoles"]["Principal"]["AWS"])
    assert roles == {
        synth.ref("aws_iam_role", "arn", name=name)
        for name in (
            "reward-calculation-dev-role",
            "payout-processing-dev-role",
            "event-relay-dev-role",
            "referral-admin-dev-role",
            "payout-scheduler-dev-role",
        )
    }
    logs = statements["LogGroupsOfThisStack"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    log_group_arns = logs["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert {arn.rsplit("log-group:", 1)[1] for arn in log_group_arns} == {
        group["name"] for group in synth.resources("aws_cloudwatch_log_group").values()
    }
    assert statements["CloudWatchAlarmsOfThisStack"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # Nobody else: people are let in only when the configuration names them (people_synth).
    assert not {"ReportReadersDecryptThroughS3", "OperatorsDecryptThroughQueuesAndTables"} & set(statements)


def test_every_store_of_data_uses_the_key(synth: Synth) -> None:
    key = synth.ref("aws_kms_key", "arn", enable_key_rotation=True)
    for table in synth.resources("aws_dynamodb_table").values():
        assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": key}, table["name"]
    for topic in synth.resources("aws_sns_topic").values():
        assert topic["kms_master_key_id"] == key, topic["name"]
    for queue in synth.resources("aws_sqs_queue").values():
        assert queue["kms_master_key_id"] == key, queue["name"]
    for group in synth.resources("aws_cloudwatch_log_group").values():
        assert group["kms_key_id"] == key, group["name"]
    for function in synth.resources("aws_lambda_function").values():
        assert function["kms_key_arn"] == key, function["function_name"]
    (sse,) = synth.resources("aws_s3_bucket_server_side_encryption_configuration").values()
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms", "kms_master_key_id": key}
    assert rule["bucket_key_enabled"] is True
    (ownership,) = synth.resources("aws_s3_bucket_ownership_controls").values()
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_bucket_topics_and_queues_refuse_requests_without_tls(synth: Synth) -> None:
    policies = [
        *(p["policy"] for p in synth.resources("aws_s3_bucket_policy").values()),
        *(p["policy"] for p in synth.resources("aws_sns_topic_policy").values()),
        *(p["policy"] for p in synth.resources("aws_sqs_queue_policy").values()),
    ]
    # the bucket, both topics, the three dead-letter queues
    assert len(policies) == 1 + 2 + 3
    for policy in policies:
        (deny,) = [s for s in json.loads(policy)["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def methods_by_route(synth: Synth) -> dict[tuple[str, str], dict]:
    """The API's methods by (method, path)."""
    resources = synth.resources("aws_api_gateway_resource")

    def path(reference: str) -> str:
        if reference.endswith(".root_resource_id}"):
            return ""
        resource = resources[reference.split(".")[1]]
        return f"{path(resource['parent_id'])}/{resource['path_part']}"

    return {(m["http_method"], path(m["resource_id"])): m for m in synth.resources("aws_api_gateway_method").values()}


PUBLIC_ROUTES = {("POST", "/signup"), ("GET", "/referrers/{code}")}
ADMIN_ROUTES = {
    ("POST", "/referrals/{userId}/qualify"),
    ("POST", "/referrals/{userId}/approve"),
    ("POST", "/referrals/{userId}/reverse"),
    ("GET", "/referrals"),
}


def test_public_routes_need_an_api_key_and_signup_bodies_are_validated(synth: Synth) -> None:
    methods = methods_by_route(synth)
    assert set(methods) == PUBLIC_ROUTES | ADMIN_ROUTES
    for route in PUBLIC_ROUTES:
        assert (methods[route]["authorization"], methods[route]["api_key_required"]) == ("NONE", True), route
    signup, referrer = methods["POST", "/signup"], methods["GET", "/referrers/{code}"]
    body_validator = synth.ref("aws_api_gateway_request_validator", "id", name="request-body")
    assert signup["request_validator_id"] == body_validator
    assert signup["request_models"] == {"application/json": synth.ref("aws_api_gateway_model", "name", name="Signup")}
    assert referrer["request_parameters"] == {"method.request.path.code": True}
    schema = json.loads(synth.one("aws_api_gateway_model", name="Signup")["schema"])
    assert schema["required"] == ["userId"]
    assert set(schema["properties"]) == {"userId", "referralCode", "email"}
    responses = {r["response_type"]: r for r in synth.resources("aws_api_gateway_gateway_response").values()}
    assert set(responses) == {"BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"}
    for response in responses.values():
        assert response["status_code"] == "400"
        assert '"error"' in response["response_templates"]["application/json"]


def test_admin_routes_need_sigv4_and_no_key_reaches_them(synth: Synth) -> None:
    """AWS_IAM on every admin method and no API key: the public key (usage plan) reaches none of
    them, since API Gateway refuses an unsigned or unallowed call with 403 before the function."""
    methods = methods_by_route(synth)
    admin = synth.ref("aws_lambda_function", "invoke_arn", function_name="referral-admin-dev")
    # One method per admin path, so its path's integration is the method's.
    integrations = {i["resource_id"]: i for i in synth.resources("aws_api_gateway_integration").values()}
    for route in ADMIN_ROUTES:
        method = methods[route]
        assert (method["authorization"], method["api_key_required"]) == ("AWS_IAM", False), route
        integration = integrations[method["resource_id"]]
        assert (integration["type"], integration["uri"]) == ("AWS_PROXY", admin), route
    # Only reverse has a fixed body; qualify and approve take none or {} (the function checks).
    reverse = methods["POST", "/referrals/{userId}/reverse"]
    assert reverse["request_models"] == {"application/json": synth.ref("aws_api_gateway_model", "name", name="Reverse")}
    assert reverse["request_validator_id"] == synth.ref("aws_api_gateway_request_validator", "id", name="request-body")
    schema = json.loads(synth.one("aws_api_gateway_model", name="Reverse")["schema"])
    assert schema == REVERSE_SCHEMA
    assert (schema["required"], schema["additionalProperties"]) == (["reason"], False)
    assert schema["properties"]["reason"] == {"type": "string", "minLength": 1, "maxLength": 500}
    params_validator = synth.ref("aws_api_gateway_request_validator", "id", name="request-parameters")
    for route in ADMIN_ROUTES - {("POST", "/referrals/{userId}/reverse")}:
        assert "request_models" not in methods[route], route
        assert methods[route]["request_validator_id"] == params_validator, route
    # The listing needs its status (as the function does); the actions their user id.
    assert methods["GET", "/referrals"]["request_parameters"] == {"method.request.querystring.status": True}
    for action in ("qualify", "approve"):
        assert methods["POST", f"/referrals/{{userId}}/{action}"]["request_parameters"] == {
            "method.request.path.userId": True
        }


def test_the_admin_callers_policy_names_exactly_the_four_admin_methods(synth: Synth) -> None:
    policy = synth.one("aws_iam_policy", name="referral-admin-callers-dev")
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", ["execute-api:Invoke"])
    api = synth.ref("aws_api_gateway_rest_api", "execution_arn") + "/dev"  # the stage: ENVIRONMENT_SUFFIX
    assert sorted(statement["Resource"]) == sorted(
        f"{api}/{route}"
        for route in (
            "POST/referrals/*/qualify",
            "POST/referrals/*/approve",
            "POST/referrals/*/reverse",
            "GET/referrals",
        )
    )
    assert synth.json["output"]["admin-caller-policy-arn"]["value"] == synth.ref(
        "aws_iam_policy", "arn", name="referral-admin-callers-dev"
    )
    assert synth.json["output"]["admin-function-name"]["value"] == synth.ref(
        "aws_lambda_function", "function_name", function_name="referral-admin-dev"
    )


def test_usage_plan_throttles_and_limits_each_key(synth: Synth, throwaway_synth: Synth) -> None:
    for s, (rate, burst, quota) in ((synth, (50, 100, 10_000)), (throwaway_synth, (5, 10, 1000))):
        (plan,) = s.resources("aws_api_gateway_usage_plan").values()
        assert plan["throttle_settings"] == {"rate_limit": rate, "burst_limit": burst}
        assert plan["quota_settings"] == {"limit": quota, "period": "DAY"}
        (link,) = s.resources("aws_api_gateway_usage_plan_key").values()
        assert link["key_id"] == s.ref("aws_api_gateway_api_key", "id")
        assert link["usage_plan_id"] == s.ref("aws_api_gateway_usage_plan", "id")


def test_stage_traces_and_writes_json_access_logs(synth: Synth) -> None:
    (stage,) = synth.resources("aws_api_gateway_stage").values()
    assert stage["xray_tracing_enabled"] is True
    log_group = synth.one("aws_cloudwatch_log_group", name="/aws/apigateway/referral-api-dev/access")
    assert stage["access_log_settings"]["destination_arn"] == synth.ref(
        "aws_cloudwatch_log_group", "arn", name="/aws/apigateway/referral-api-dev/access"
    )
    access_format = json.loads(stage["access_log_settings"]["format"])
    assert access_format["requestId"] == "$context.requestId"
    assert log_group["retention_in_days"] == 365
    # The account's CloudWatch role is the account stack's (tests/stack/test_account_stack.py).
    assert not synth.resources("aws_api_gateway_account")


def test_waf_rate_limits_per_ip_with_managed_rules_on_the_stage(synth: Synth, throwaway_synth: Synth) -> None:
    (acl,) = synth.resources("aws_wafv2_web_acl").values()
    assert acl["scope"] == "REGIONAL"
    rules = {rule["name"]: rule for rule in acl["rule"]}
    rate = rules["rate-limit-per-ip"]
    assert rate["statement"]["rate_based_statement"] == {"limit": 1000, "aggregate_key_type": "IP"}
    assert "block" in rate["action"]
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert rules[group]["statement"]["managed_rule_group_statement"]["vendor_name"] == "AWS"
    (association,) = synth.resources("aws_wafv2_web_acl_association").values()
    assert association["resource_arn"] == synth.ref("aws_api_gateway_stage", "arn")
    (logging,) = synth.resources("aws_wafv2_web_acl_logging_configuration").values()
    assert logging["redacted_fields"] == [{"single_header": {"name": "x-api-key"}}]
    # WAF_ENABLED=false: no web ACL, nothing left dangling.
    for resource_type in (
        "aws_wafv2_web_acl",
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
    ):
        assert not throwaway_synth.resources(resource_type)


def test_deletion_protection_is_on_by_default_and_can_be_switched_off(synth: Synth, throwaway_synth: Synth) -> None:
    for table in synth.resources("aws_dynamodb_table").values():
        assert table["deletion_protection_enabled"] is True
        assert table["point_in_time_recovery"] == {"enabled": True}
    for table in throwaway_synth.resources("aws_dynamodb_table").values():
        assert table["deletion_protection_enabled"] is False
        assert table["point_in_time_recovery"] == {"enabled": True}


def test_payout_async_retries_then_dead_letter(synth: Synth) -> None:
    (config,) = synth.resources("aws_lambda_function_event_invoke_config").values()
    assert config["function_name"] == synth.ref(
        "aws_lambda_function", "function_name", function_name="payout-processing-dev"
    )
    assert config["maximum_retry_attempts"] == 2
    assert config["maximum_event_age_in_seconds"] == 3600


def test_every_alarm_notifies_the_encrypted_ops_topic_and_is_on_the_dashboard(synth: Synth) -> None:
    ops_topic = synth.ref("aws_sns_topic", "arn", name="ops-alerts-dev")
    alarms = synth.resources("aws_cloudwatch_metric_alarm")
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == [ops_topic]
    (dashboard,) = synth.resources("aws_cloudwatch_dashboard").values()
    widgets = json.loads(dashboard["dashboard_body"])["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        f"${{aws_cloudwatch_metric_alarm.{key}.arn}}" for key in alarms
    )


def test_throwaway_settings_reach_the_resources(throwaway_synth: Synth) -> None:
    for group in throwaway_synth.resources("aws_cloudwatch_log_group").values():
        assert group["retention_in_days"] == 7
    reward = throwaway_synth.one("aws_lambda_function", function_name="reward-calculation-pr-7")
    assert reward["environment"]["variables"]["REWARD_TIERS"] == '{"1": "12.50", "3": "20"}'


def test_local_demo_configuration_points_every_endpoint_at_the_emulator(local_synth: Synth, synth: Synth) -> None:
    (provider,) = local_synth.json["provider"]["aws"]
    (endpoints,) = provider["endpoints"]
    assert set(endpoints.values()) == {"http://127.0.0.1:5999"}
    assert {"dynamodb", "lambda", "s3", "apigateway", "scheduler", "kms", "iam", "sts"} <= set(endpoints)
    assert provider["s3_use_path_style"] is True
    for function in local_synth.resources("aws_lambda_function").values():
        assert function["layers"] == []
    assert not local_synth.resources("aws_wafv2_web_acl")
    # ...and none of it leaks into a real deployment.
    (real_provider,) = synth.json["provider"]["aws"]
    assert not {"endpoints", "access_key", "secret_key"} & set(real_provider)
