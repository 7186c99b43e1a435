"""The CloudWatch dashboard body, as plain data so tests can check every widget's shape.

A metric entry is [namespace, metric name, dimension name, dimension value, ...], optionally
followed by one options object; the original app's entries broke that shape.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6
PERIOD_SECONDS = 300


@dataclass(frozen=True)
class DashboardSubjects:
    region: str
    api_name: str
    stage_name: str
    function_names: Sequence[str]
    table_names: Sequence[str]
    queue_names: Sequence[str]
    metrics_namespace: str
    metrics_service: str  # the reward calculator's Powertools service
    payout_service: str
    relay_name: str  # the event relay function
    relay_service: str


def metric_widget(title: str, metrics: list[list], stat: str = "Sum", region: str = "") -> dict:
    return {
        "type": "metric",
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "stat": stat,
            "period": PERIOD_SECONDS,
            "metrics": metrics,
        },
    }


def dashboard_widgets(s: DashboardSubjects) -> list[dict]:
    api = ["ApiName", s.api_name, "Stage", s.stage_name]
    widgets = [
        metric_widget("API requests", [["AWS/ApiGateway", "Count", *api]]),
        metric_widget("API errors", [["AWS/ApiGateway", "4XXError", *api], ["AWS/ApiGateway", "5XXError", *api]]),
        metric_widget(
            "API latency (p50, p99)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
            ],
            stat="Average",
        ),
    ]
    for name in s.function_names:
        fn = ["FunctionName", name]
        widgets.append(
            metric_widget(
                f"{name}: invocations, errors, throttles",
                [
                    ["AWS/Lambda", "Invocations", *fn],
                    ["AWS/Lambda", "Errors", *fn],
                    ["AWS/Lambda", "Throttles", *fn],
                ],
            )
        )
        widgets.append(
            metric_widget(
                f"{name}: duration (avg, max)",
                [["AWS/Lambda", "Duration", *fn], ["AWS/Lambda", "Duration", *fn, {"stat": "Maximum"}]],
                stat="Average",
            )
        )
    for table in s.table_names:
        t = ["TableName", table]
        widgets.append(
            metric_widget(
                f"{table}: consumed capacity and throttles",
                [
                    ["AWS/DynamoDB", "ConsumedReadCapacityUnits", *t],
                    ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", *t],
                    ["AWS/DynamoDB", "ReadThrottleEvents", *t],
                    ["AWS/DynamoDB", "WriteThrottleEvents", *t],
                ],
            )
        )
    widgets.append(
        metric_widget(
            "Dead-letter queue depth",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in s.queue_names],
            stat="Maximum",
        )
    )
    service = ["service", s.metrics_service]
    widgets.append(
        metric_widget(
            "Signups and enrolments", [[s.metrics_namespace, name, *service] for name in ("Signups", "Enrolments")]
        )
    )
    widgets.append(
        metric_widget(
            "Event relay: events published, stream iterator age (max, ms)",
            [
                [s.metrics_namespace, "EventsPublished", "service", s.relay_service],
                ["AWS/Lambda", "IteratorAge", "FunctionName", s.relay_name, {"stat": "Maximum", "yAxis": "right"}],
            ],
        )
    )
    payout = ["service", s.payout_service]
    widgets.append(
        metric_widget(
            "Payouts: completed, rewards paid, deadline missed",
            [
                [s.metrics_namespace, name, *payout]
                for name in ("PayoutsCompleted", "RewardsPaid", "PayoutDeadlineMissed")
            ],
        )
    )
    return [_placed(widget, index, s.region) for index, widget in enumerate(widgets)]


def _placed(widget: dict, index: int, region: str) -> dict:
    columns = 24 // WIDGET_WIDTH
    widget["x"] = (index % columns) * WIDGET_WIDTH
    widget["y"] = (index // columns) * WIDGET_HEIGHT
    widget["properties"]["region"] = region
    return widget


def dashboard_body(subjects: DashboardSubjects, alarm_arns: Sequence[str] = ()) -> str:
    widgets = dashboard_widgets(subjects)
    if alarm_arns:
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": (len(widgets) // 2 + 1) * WIDGET_HEIGHT,
                "width": 24,
                "height": WIDGET_HEIGHT,
                "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
            }
        )
    return json.dumps({"widgets": widgets})
