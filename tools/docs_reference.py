"""docs/resources.md from the synthesized Terraform: every resource and output of both stacks.

    python -m tools.docs_reference [STACKS_DIR] [OUTPUT]      (make docs)

STACKS_DIR holds <stack>/cdk.tf.json (default cdktf.out/stacks), OUTPUT defaults to
docs/resources.md. The page documents the default configuration (no setting in the environment);
`make docs` synthesizes that into build/docs/ first. The descriptions of resource types and
outputs live here: a type or output without one stops the generator with a message.
tests/stack/test_docs_reference.py checks that the committed page is this module's output.
"""

import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

STACKS = ("tap-account", "tap-stack")
DEFAULT_STACKS_DIR = Path("cdktf.out/stacks")
DEFAULT_OUTPUT = Path("docs/resources.md")
# `${aws_sqs_queue.messaging_payout-dlq_A6E5B27B.url}`, `${data.aws_caller_identity.account.account_id}`
REFERENCE = re.compile(r"\$\{(?P<type>(?:data\.)?aws_[a-z0-9_]+)\.(?P<key>[A-Za-z0-9_-]+)\.(?P<attribute>[a-z_]+)\}")
NAME_FIELDS = ("name", "alarm_name", "dashboard_name", "stage_name", "statement_id", "function_name", "bucket_prefix")
# What a resource without a name of its own belongs to.
SUBJECT_FIELDS = ("bucket", "queue_url", "arn", "resource_arn", "role", "rest_api_id", "usage_plan_id")

RESOURCE_TYPES = {
    "aws_api_gateway_account": "API Gateway's CloudWatch Logs role for the whole account and region",
    "aws_api_gateway_api_key": "the API key callers send as `x-api-key`",
    "aws_api_gateway_deployment": "snapshot of the API; replaced whenever a route changes",
    "aws_api_gateway_gateway_response": "API Gateway's own refusals, in the function's `{\"error\": ...}` shape",
    "aws_api_gateway_integration": "route to a function (Lambda proxy)",
    "aws_api_gateway_method": "a route: method on a path, with an API key (public) or SigV4 (admin)",
    "aws_api_gateway_method_settings": "stage throttling, metrics and execution logging",
    "aws_api_gateway_model": "JSON schema of a request body (signup, reverse)",
    "aws_api_gateway_request_validator": "what API Gateway checks before invoking the function",
    "aws_api_gateway_resource": "a path of the API",
    "aws_api_gateway_rest_api": "the regional REST API",
    "aws_api_gateway_stage": "the stage callers use (named after the environment)",
    "aws_api_gateway_usage_plan": "throttle and daily quota per API key",
    "aws_api_gateway_usage_plan_key": "puts the API key in the usage plan",
    "aws_cloudwatch_dashboard": "the environment's dashboard",
    "aws_cloudwatch_log_group": "a log group, with retention and the stack's key",
    "aws_cloudwatch_metric_alarm": "an alarm that notifies the ops topic (and again when it is OK)",
    "aws_dynamodb_table": "a table (on demand, encrypted, PITR, stream)",
    "aws_iam_policy": "a managed policy for people's roles or the host backend's",
    "aws_iam_role": "a role and who may assume it",
    "aws_iam_role_policy": "the inline policy of one role: what its code may call",
    "aws_iam_role_policy_attachment": "a managed policy attached to a role",
    "aws_kms_key": "a customer-managed key: for all data at rest, or the HMAC key of the review e-mail keys",
    "aws_kms_alias": "a key's alias",
    "aws_lambda_event_source_mapping": "a table stream feeding the event relay",
    "aws_lambda_function": "a Python function",
    "aws_lambda_function_event_invoke_config": "retries of asynchronous invocations",
    "aws_lambda_permission": "one API route may invoke the function",
    "aws_s3_bucket": "the payout reports bucket",
    "aws_s3_bucket_lifecycle_configuration": "archiving and clean-up of reports",
    "aws_s3_bucket_ownership_controls": "objects owned by the bucket owner (no ACLs)",
    "aws_s3_bucket_policy": "the bucket's resource policy",
    "aws_s3_bucket_public_access_block": "all four public-access blocks",
    "aws_s3_bucket_server_side_encryption_configuration": "default encryption of reports",
    "aws_s3_bucket_versioning": "versioning of reports",
    "aws_scheduler_schedule": "a monthly schedule that invokes the payout function",
    "aws_scheduler_schedule_group": "the group of the payout schedules",
    "aws_sns_topic": "a topic, encrypted with the stack's key",
    "aws_sns_topic_policy": "the topic's resource policy",
    "aws_sns_topic_subscription": "a subscription of the ops topic",
    "aws_sqs_queue": "a dead-letter queue",
    "aws_sqs_queue_policy": "the queue's resource policy",
    "aws_wafv2_web_acl": "the web ACL in front of the API stage",
    "aws_wafv2_web_acl_association": "attaches the web ACL to the stage",
    "aws_wafv2_web_acl_logging_configuration": "where WAF logs go, the API key redacted",
}
OUTPUTS = {
    "api-endpoint": "invoke URL of the API stage: append `/signup` or `/referrers/{code}`",
    "api-gateway-id": "id of the REST API",
    "api-gateway-logging-role-arn": "the role API Gateway writes logs with, in this account and region",
    "api-key-id": "id of the default API key; read its value with `aws apigateway get-api-key --include-value`",
    "dashboard-url": "the CloudWatch dashboard in the console",
    "dlq-url": "payout DLQ: failed asynchronous payout runs",
    "event-relay-lambda-name": "the event relay function (the outbox's reader)",
    "idempotency-table-name": "the payout run records' table",
    "kms-key-arn": "the key that encrypts every store of data",
    "ops-topic-arn": "the topic every alarm notifies; subscribe e-mail, chat or paging here",
    "alarm-names": "the names of the stack's alarms (`referrals status` asks CloudWatch for these)",
    "payout-lambda-name": "the monthly payout function; invoke it for a manual payout",
    "referral-table-name": "the referrals table (profiles and referral items)",
    "relay-dlq-url": "relay DLQ: positions of stream batches the relay gave up on",
    "reward-calc-lambda-name": "the function behind the public API routes",
    "admin-function-name": "the function behind the admin routes (`/referrals`)",
    "admin-caller-policy-arn": "managed policy granting exactly the admin routes (SigV4); attach it to the host "
    "backend's role",
    "review-email-key-arn": "the KMS HMAC key the reward function derives its e-mail key secret from",
    "s3-bucket": "the payout reports bucket (`payouts/YYYY-MM/payout-report.csv`)",
    "schedule-dlq-url": "schedule DLQ: payout events Scheduler could not deliver",
    "sns-topic": "the reward topic: `referral.rewarded`, the `reward.*` lifecycle events and `payout.completed`",
}
# Outputs that only some settings add (see OPTIONAL_RESOURCES).
OPTIONAL_OUTPUTS = {
    "report-reader-policy-arn": "the managed policy attached to each report reader role",
    "operator-policy-arn": "the managed policy attached to each operator role",
}
# Not in the default configuration's synth: which setting adds or changes what.
OPTIONAL_RESOURCES = (
    ("OPS_ALERT_EMAILS", "one `aws_sns_topic_subscription` (protocol `email`) of `ops-alerts-<suffix>` per address"),
    (
        "REPORT_READER_ROLE_ARNS",
        "`aws_iam_policy` `referral-report-readers-<suffix>` (output `report-reader-policy-arn`) and one "
        "`aws_iam_role_policy_attachment` per role; the bucket and key policies name the roles",
    ),
    (
        "OPERATOR_ROLE_ARNS",
        "`aws_iam_policy` `referral-operators-<suffix>` (output `operator-policy-arn`) and one "
        "`aws_iam_role_policy_attachment` per role; the queue and key policies name the roles",
    ),
    (
        "WAF_ENABLED=false",
        "no `aws_wafv2_web_acl`, association or logging configuration, and no `aws-waf-logs-…` log group",
    ),
    ("STATE_BUCKET", "the same resources; state in the S3 backend instead of a local file"),
    ("LOCAL_AWS_ENDPOINT", "see [Local differences](getting-started.md#local-differences)"),
)

Resource = dict[str, Any]
Document = dict[str, Any]


class MissingDescription(ValueError):
    """A resource type or output this module has no description for."""


def read_stacks(stacks_dir: Path) -> dict[str, Document]:
    return {name: json.loads((stacks_dir / name / "cdk.tf.json").read_text()) for name in STACKS}


def render(stacks: Mapping[str, Document]) -> str:
    """The whole page for the synthesized stacks of the default configuration."""
    _require_default_configuration(stacks["tap-stack"])
    missing = sorted(
        {f"resource type {t}" for doc in stacks.values() for t in doc.get("resource", {}) if t not in RESOURCE_TYPES}
        | {f"output {o}" for doc in stacks.values() for o in doc.get("output", {}) if o not in OUTPUTS}
    )
    if missing:
        raise MissingDescription("add a description to tools/docs_reference.py for: " + ", ".join(missing))
    lines = [
        "# Resources and outputs",
        "",
        "<!-- Generated by tools/docs_reference.py (`make docs`) from the synthesized Terraform of the default",
        "     configuration; do not edit: change the stacks or the generator, then run `make docs`. -->",
        "",
        "What `main.py` synthesizes with no setting in the environment (`ENVIRONMENT_SUFFIX=dev`, `us-east-1`,",
        "local state), read from `cdktf.out/stacks/<stack>/cdk.tf.json`. Names end in the environment's suffix.",
        "Settings are in [configuration.md](configuration.md); why each part exists is in [design.md](design.md).",
        "",
    ]
    for name in STACKS:
        lines += _stack_section(name, stacks[name])
    lines += ["## Only with some settings", "", "| Setting | Adds or changes |", "|---|---|"]
    lines += [f"| `{setting}` | {change} |" for setting, change in OPTIONAL_RESOURCES]
    lines += ["", "| Output | What it is |", "|---|---|"]
    lines += [f"| `{output}` | {text} |" for output, text in OPTIONAL_OUTPUTS.items()]
    return "\n".join(lines) + "\n"


def api_routes(document: Document) -> set[tuple[str, str]]:
    """(method, path) of every API Gateway method the stack synthesizes, e.g. ("GET", "/referrers/{code}")."""
    paths = _api_paths(document)
    return {
        (method["http_method"], paths[_referenced_key(method["resource_id"])])
        for method in document.get("resource", {}).get("aws_api_gateway_method", {}).values()
    }


def _require_default_configuration(document: Document) -> None:
    (provider,) = document["provider"]["aws"]
    tags = provider["default_tags"][0]["tags"]
    remote_state = "s3" in document["terraform"]["backend"]
    if tags.get("Environment") != "dev" or provider["region"] != "us-east-1" or remote_state:
        raise ValueError(
            "docs/resources.md documents the default configuration: synthesize with no setting in the environment "
            "(make docs does)"
        )


def _stack_section(name: str, document: Document) -> list[str]:
    resources = document.get("resource", {})
    lines = [f"## {name}", "", f"{sum(len(r) for r in resources.values())} resources.", ""]
    lines += ["| Resource type | Count | What it is |", "|---|---|---|"]
    lines += [f"| `{kind}` | {len(resources[kind])} | {RESOURCE_TYPES[kind]} |" for kind in sorted(resources)]
    lines += ["", f"### Resources of {name}", "", "| Resource type | Name | Details |", "|---|---|---|"]
    rows = []
    for kind, of_kind in resources.items():
        for resource in of_kind.values():
            details = DETAILS.get(kind, _nothing)(document, resource)
            rows.append((kind, _name(document, kind, resource), details))
    lines += [f"| `{kind}` | {_cell(name_)} | {_cell(details)} |" for kind, name_, details in sorted(rows)]
    outputs = document.get("output", {})
    lines += ["", f"### Outputs of {name}", "", "| Output | What it is | Value |", "|---|---|---|"]
    for output in sorted(outputs):
        lines.append(f"| `{output}` | {OUTPUTS[output]} | {_cell(_output_value(document, outputs[output]['value']))} |")
    return [*lines, ""]


def _name(document: Document, kind: str, resource: Resource) -> str:
    if kind in NAMES:
        return NAMES[kind](document, resource)
    for field in (*NAME_FIELDS, *SUBJECT_FIELDS):
        if isinstance(resource.get(field), str):
            return _resolve(document, resource[field])
    return _display_name(document, kind, _own_key(document, kind, resource))


def _route(document: Document, method: Resource) -> str:
    return f"{method['http_method']} {_api_paths(document)[_referenced_key(method['resource_id'])]}"


# Resources named by what they connect rather than by a name field.
NAMES: dict[str, Callable[[Document, Resource], str]] = {
    "aws_api_gateway_resource": lambda d, r: _api_paths(d)[_own_key(d, "aws_api_gateway_resource", r)],
    "aws_api_gateway_method": _route,
    "aws_api_gateway_integration": lambda d, r: _route(d, _target(d, r["http_method"])),
    "aws_lambda_event_source_mapping": lambda d, r: (
        f"{_resolve(d, r['event_source_arn'])} stream → {_resolve(d, r['function_name'])}"
    ),
    "aws_wafv2_web_acl_association": lambda d, r: _resolve(d, r["web_acl_arn"]),
}


def _resolve(document: Document, text: str, attributes: bool = False) -> str:
    """References replaced by the referenced resource's name: `${aws_sqs_queue.x.url}` -> `payout-dlq-dev`
    (`payout-dlq-dev.url` with attributes)."""

    def name_of(match: re.Match[str]) -> str:
        if match["type"].startswith("data."):
            return f"<{match['attribute']}>"
        name = _display_name(document, match["type"], match["key"])
        return f"{name}.{match['attribute']}" if attributes else name

    return REFERENCE.sub(name_of, text)


def _display_name(document: Document, kind: str, key: str) -> str:
    resource = document["resource"][kind][key]
    names = [resource[f] for f in NAME_FIELDS if isinstance(resource.get(f), str)]
    if names:
        return _resolve(document, names[0])
    # The key is known by its alias.
    aliases = [a["name"] for a in document["resource"].get("aws_kms_alias", {}).values() if key in a["target_key_id"]]
    return aliases[0] if aliases else key


def _target(document: Document, reference: str) -> Resource:
    match = REFERENCE.fullmatch(reference)
    if match is None:
        raise ValueError(f"not a reference: {reference}")
    return document["resource"][match["type"]][match["key"]]


def _output_value(document: Document, value: str | list[str]) -> str:
    if isinstance(value, list):  # a list of names known at synth time
        return ", ".join(f"`{item}`" for item in value)
    match = REFERENCE.fullmatch(value)
    if match is None:
        return _resolve(document, value)
    return f"`{match['attribute']}` of {match['type']} {_display_name(document, match['type'], match['key'])}"


def _api_paths(document: Document) -> dict[str, str]:
    resources = document.get("resource", {}).get("aws_api_gateway_resource", {})

    def path(key: str) -> str:
        resource = resources[key]
        parent = resource["parent_id"]
        prefix = "" if parent.endswith(".root_resource_id}") else path(_referenced_key(parent))
        return f"{prefix}/{resource['path_part']}"

    return {key: path(key) for key in resources}


def _referenced_key(reference: str) -> str:
    match = REFERENCE.fullmatch(reference)
    if match is None:
        raise ValueError(f"not a reference: {reference}")
    return match["key"]


def _own_key(document: Document, kind: str, resource: Resource) -> str:
    return next(key for key, r in document["resource"][kind].items() if r is resource)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _nothing(document: Document, resource: Resource) -> str:
    return ""


def _table(document: Document, r: Resource) -> str:
    keys = f"hash `{r['hash_key']}`" + (f", range `{r['range_key']}`" if r.get("range_key") else "")
    indexes = ", ".join(f"`{index['name']}`" for index in r.get("global_secondary_index", []))
    parts = [keys, f"GSIs {indexes}" if indexes else "", r["billing_mode"]]
    parts += ["TTL on `" + r["ttl"]["attribute_name"] + "`" if r.get("ttl") else ""]
    parts += ["PITR" if r["point_in_time_recovery"]["enabled"] else "", f"stream {r['stream_view_type']}"]
    parts += ["deletion protection" if r["deletion_protection_enabled"] else "no deletion protection"]
    return "; ".join(p for p in parts if p)


def _function(document: Document, r: Resource) -> str:
    parts = [f"{r['runtime']}, {r['timeout']} s, {r['memory_size']} MB", f"handler `{r['handler']}`"]
    if r.get("reserved_concurrent_executions") is not None:
        parts.append(f"reserved concurrency {r['reserved_concurrent_executions']}")
    if r.get("dead_letter_config"):
        parts.append("DLQ " + _resolve(document, r["dead_letter_config"]["target_arn"]))
    parts.append("environment " + ", ".join(f"`{v}`" for v in sorted(r["environment"]["variables"])))
    tracing = r["tracing_config"]["mode"]
    parts.append(f"{len(r.get('layers', []))} layers; X-Ray tracing {tracing}; encrypted environment")
    return "; ".join(parts)


def _alarm(document: Document, r: Resource) -> str:
    return (
        f"{r['namespace']} {r['metric_name']} {r['statistic']} > {r['threshold']} in {r['period']} s: "
        f"{r['alarm_description']}"
    )


def _schedule(document: Document, r: Resource) -> str:
    retry = r["target"]["retry_policy"]
    return (
        f"`{r['schedule_expression']}` {r['schedule_expression_timezone']}: {r['description']}; "
        f"{retry['maximum_retry_attempts']} retries within {retry['maximum_event_age_in_seconds']} s, then "
        + _resolve(document, r["target"]["dead_letter_config"]["arn"])
    )


def _mapping(document: Document, r: Resource) -> str:
    failed = _resolve(document, r["destination_config"]["on_failure"]["destination_arn"])
    return (
        f"from {r['starting_position']}, batches of {r['batch_size']} "
        f"within {r['maximum_batching_window_in_seconds']} s, "
        f"{r['maximum_retry_attempts']} retries, records up to {r['maximum_record_age_in_seconds']} s old, "
        f"partial batch responses, then {failed}"
    )


def _policy_sids(document: Document, r: Resource) -> str:
    return "statements " + ", ".join(s.get("Sid", "(no Sid)") for s in json.loads(r["policy"])["Statement"])


def _role(document: Document, r: Resource) -> str:
    (statement,) = json.loads(r["assume_role_policy"])["Statement"]
    return f"assumed by `{statement['Principal']['Service']}`"


def _web_acl(document: Document, r: Resource) -> str:
    rules = []
    for rule in sorted(r["rule"], key=lambda rule: rule["priority"]):
        rate = rule["statement"].get("rate_based_statement")
        rules.append(f"{rule['name']} ({rate['limit']} per 5 min per IP)" if rate else rule["name"])
    return "rules: " + ", ".join(rules)


def _lifecycle(document: Document, r: Resource) -> str:
    (rule,) = r["rule"]
    (transition,) = rule["transition"]
    return (
        f"{transition['storage_class']} after {transition['days']} days; noncurrent versions expire after "
        f"{rule['noncurrent_version_expiration'][0]['noncurrent_days']} days; incomplete multipart uploads aborted "
        f"after {rule['abort_incomplete_multipart_upload'][0]['days_after_initiation']} days"
    )


def _dashboard(document: Document, r: Resource) -> str:
    return "widgets: " + "; ".join(w["properties"]["title"] for w in json.loads(r["dashboard_body"])["widgets"])


DETAILS: dict[str, Callable[[Document, Resource], str]] = {
    "aws_api_gateway_account": lambda d, r: f"role {_resolve(d, r['cloudwatch_role_arn'])}; reset on delete",
    "aws_api_gateway_deployment": lambda d, r: "create before destroy; redeployed on a hash of every route part",
    "aws_api_gateway_gateway_response": lambda d, r: f"{r['response_type']}: {r['status_code']}",
    "aws_api_gateway_integration": lambda d, r: f"{r['type']} to {_resolve(d, r['uri'])}",
    "aws_api_gateway_method": lambda d, r: (
        ("API key required" if r["api_key_required"] else f"{r['authorization']}, no API key")
        + "".join(f"; validator {_resolve(d, v)}" for v in [r.get("request_validator_id")] if v)
        + "".join(f", model {_resolve(d, m)}" for m in r.get("request_models", {}).values())
        + "".join(f", required {p}" for p in r.get("request_parameters", {}))
    ),
    "aws_api_gateway_method_settings": lambda d, r: (
        f"{r['settings']['throttling_rate_limit']} rps, burst {r['settings']['throttling_burst_limit']}, "
        f"logging {r['settings']['logging_level']}, no data trace"
    ),
    "aws_api_gateway_request_validator": lambda d, r: "body" if r.get("validate_request_body") else "parameters",
    "aws_api_gateway_rest_api": lambda d, r: ", ".join(r["endpoint_configuration"]["types"]),
    "aws_api_gateway_stage": lambda d, r: (
        "X-Ray, JSON access logs to " + _resolve(d, r["access_log_settings"]["destination_arn"])
    ),
    "aws_api_gateway_usage_plan": lambda d, r: (
        f"{r['throttle_settings']['rate_limit']} rps, burst {r['throttle_settings']['burst_limit']}, "
        f"{r['quota_settings']['limit']} requests per {r['quota_settings']['period']}"
    ),
    "aws_cloudwatch_dashboard": _dashboard,
    "aws_cloudwatch_log_group": lambda d, r: f"{r['retention_in_days']} days, encrypted",
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_dynamodb_table": _table,
    "aws_iam_role": _role,
    "aws_iam_role_policy": lambda d, r: f"of {_resolve(d, r['role'])}; " + _policy_sids(d, r),
    "aws_iam_role_policy_attachment": lambda d, r: r["policy_arn"].rsplit("/", 1)[-1],
    "aws_kms_key": lambda d, r: (
        f"{r.get('customer_master_key_spec', 'SYMMETRIC_DEFAULT')}, "
        f"rotation {'on' if r['enable_key_rotation'] else 'off'}, "
        f"{r['deletion_window_in_days']}-day deletion window; " + _policy_sids(d, r)
    ),
    "aws_lambda_event_source_mapping": _mapping,
    "aws_lambda_function": _function,
    "aws_lambda_function_event_invoke_config": lambda d, r: (
        f"{r['maximum_retry_attempts']} retries, events up to {r['maximum_event_age_in_seconds']} s old"
    ),
    "aws_lambda_permission": lambda d, r: f"{r['principal']} from {_resolve(d, r['source_arn'])}",
    "aws_s3_bucket_lifecycle_configuration": _lifecycle,
    "aws_s3_bucket_ownership_controls": lambda d, r: r["rule"]["object_ownership"],
    "aws_s3_bucket_policy": _policy_sids,
    "aws_s3_bucket_public_access_block": lambda d, r: ", ".join(
        f for f in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets") if r[f]
    ),
    "aws_s3_bucket_server_side_encryption_configuration": lambda d, r: (
        r["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] + " with a bucket key"
    ),
    "aws_s3_bucket_versioning": lambda d, r: r["versioning_configuration"]["status"],
    "aws_scheduler_schedule": _schedule,
    "aws_sns_topic": lambda d, r: "encrypted with " + _resolve(d, r["kms_master_key_id"]),
    "aws_sns_topic_policy": _policy_sids,
    "aws_sqs_queue": lambda d, r: f"messages kept {r['message_retention_seconds'] // 86400} days, encrypted",
    "aws_sqs_queue_policy": _policy_sids,
    "aws_wafv2_web_acl": _web_acl,
    "aws_wafv2_web_acl_association": lambda d, r: "on stage " + _resolve(d, r["resource_arn"]),
    "aws_wafv2_web_acl_logging_configuration": lambda d, r: (
        "to " + _resolve(d, r["log_destination_configs"][0]) + ", header `x-api-key` redacted"
    ),
}


def main(arguments: list[str]) -> int:
    stacks_dir = Path(arguments[0]) if arguments else DEFAULT_STACKS_DIR
    output = Path(arguments[1]) if len(arguments) > 1 else DEFAULT_OUTPUT
    try:
        page = render(read_stacks(stacks_dir))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output.write_text(page)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
