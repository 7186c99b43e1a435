"""The transactional outbox on the stack side: streams, the relay function, its mappings, DLQ and alarms."""

import json

from tests.stack.conftest import Synth


def test_both_tables_stream_new_and_old_images(synth: Synth) -> None:
    for table in synth.resources("aws_dynamodb_table").values():
        assert table["stream_enabled"] is True, table["name"]
        assert table["stream_view_type"] == "NEW_AND_OLD_IMAGES", table["name"]


def test_the_relay_is_packaged_like_the_other_functions_and_reads_only_its_environment(synth: Synth) -> None:
    relay = synth.one("aws_lambda_function", function_name="event-relay-dev")
    assert relay["runtime"] == "python3.12"
    assert relay["handler"] == "event_relay.handler.handler"
    assert relay["tracing_config"] == {"mode": "Active"}
    assert relay["environment"]["variables"] == {
        "SNS_TOPIC_ARN": synth.ref("aws_sns_topic", "arn", name="reward-notifications-dev"),
        "REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "event-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    }


def test_nothing_but_the_relay_can_publish_or_is_told_where_the_topic_is(synth: Synth) -> None:
    for function in synth.resources("aws_lambda_function").values():
        if function["function_name"] != "event-relay-dev":
            assert "SNS_TOPIC_ARN" not in function["environment"]["variables"], function["function_name"]
    publishers = [
        policy["name"]
        for policy in synth.resources("aws_iam_role_policy").values()
        for statement in json.loads(policy["policy"])["Statement"]
        if "sns:Publish" in statement["Action"]
    ]
    assert publishers == ["event-relay-dev-policy"]


def test_each_stream_feeds_the_relay_with_partial_batch_responses_bounded_retries_and_a_dlq(synth: Synth) -> None:
    mappings = synth.resources("aws_lambda_event_source_mapping").values()
    relay = synth.ref("aws_lambda_function", "arn", function_name="event-relay-dev")
    dlq = synth.ref("aws_sqs_queue", "arn", name="event-relay-dlq-dev")
    streams = {
        synth.ref("aws_dynamodb_table", "stream_arn", name=n)
        for n in ("referral-tracking-dev", "payout-idempotency-dev")
    }
    assert {m["event_source_arn"] for m in mappings} == streams
    for mapping in mappings:
        assert mapping["function_name"] == relay
        assert mapping["starting_position"] == "TRIM_HORIZON"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["bisect_batch_on_function_error"] is True
        assert 0 < mapping["maximum_retry_attempts"] <= 10
        # Well inside the stream's 24-hour retention, so a DLQ entry can still be redriven.
        assert 60 <= mapping["maximum_record_age_in_seconds"] <= 6 * 3600
        assert mapping["destination_config"] == {"on_failure": {"destination_arn": dlq}}
        assert mapping["batch_size"] == 100


def test_the_relay_dlq_is_encrypted_kept_two_weeks_and_alarmed(synth: Synth) -> None:
    queue = synth.one("aws_sqs_queue", name="event-relay-dlq-dev")
    assert queue["kms_master_key_id"] == synth.ref("aws_kms_key", "arn", enable_key_rotation=True)
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    alarms = {a["alarm_name"]: a for a in synth.resources("aws_cloudwatch_metric_alarm").values()}
    assert alarms["event-relay-dlq-dev-not-empty"]["dimensions"] == {"QueueName": "event-relay-dlq-dev"}
    assert alarms["event-relay-dev-errors"]["dimensions"] == {"FunctionName": "event-relay-dev"}
    age = alarms["event-relay-dev-iterator-age"]
    assert (age["namespace"], age["metric_name"], age["statistic"]) == ("AWS/Lambda", "IteratorAge", "Maximum")
    assert age["threshold"] == 300_000
    assert not [name for name in alarms if "notification-failures" in name]


def test_the_dashboard_shows_the_relay(synth: Synth) -> None:
    (dashboard,) = synth.resources("aws_cloudwatch_dashboard").values()
    widgets = json.loads(dashboard["dashboard_body"])["widgets"]
    metrics = [tuple(m[:2]) for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert ("AWS/Lambda", "IteratorAge") in metrics
    assert ("ReferralProgram", "EventsPublished") in metrics
    assert ("ReferralProgram", "NotificationFailures") not in metrics
    queues = {m[3] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"] if m[0] == "AWS/SQS"}
    assert "event-relay-dlq-dev" in queues
