"""Alarms to an ops topic, and the dashboard that shows the metrics and the alarms."""

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from stacks.config import StackConfig
from stacks.dashboard import DashboardSubjects, dashboard_body
from stacks.policies import Account, ops_topic_policy

API_5XX_RATE_THRESHOLD = 0.05  # 5XXError's Average is the share of requests that failed
RELAY_ITERATOR_AGE_THRESHOLD_MS = 300_000  # records wait about a second normally (batching window)


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str = "Sum"
    threshold: float = 0
    description: str = ""
    period_seconds: int = 300


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        config: StackConfig,
        subjects: DashboardSubjects,
        *,
        kms_key_arn: str,
        account: Account,
    ) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.ops_topic = SnsTopic(self, "ops-topic", name=f"ops-alerts-{suffix}", kms_master_key_id=kms_key_arn)
        specs = alarm_specs(subjects, suffix)
        SnsTopicPolicy(
            self,
            "ops-topic-policy",
            arn=self.ops_topic.arn,
            policy=ops_topic_policy(account, self.ops_topic.arn, alarm_arns(account, specs)),
        )
        # Each address gets a confirmation e-mail from AWS; alerts arrive once it is confirmed.
        for index, address in enumerate(config.ops_alert_emails):
            SnsTopicSubscription(
                self, f"ops-alert-email-{index}", topic_arn=self.ops_topic.arn, protocol="email", endpoint=address
            )
        self.alarms = [self._alarm(spec) for spec in specs]
        self.dashboard_name = f"referral-management-{suffix}"
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=dashboard_body(subjects, [alarm.arn for alarm in self.alarms]),
        )

    def _alarm(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        return CloudwatchMetricAlarm(
            self,
            spec.name,
            alarm_name=spec.name,
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=spec.dimensions,
            statistic=spec.statistic,
            period=spec.period_seconds,
            evaluation_periods=1,
            threshold=spec.threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.ops_topic.arn],
            ok_actions=[self.ops_topic.arn],
        )


def alarm_arns(account: Account, specs: list[AlarmSpec]) -> list[str]:
    """The ARNs the alarms will have: the ops topic and the key allow CloudWatch for these only."""
    return [account.arn("cloudwatch", f"alarm:{spec.name}") for spec in specs]


def alarm_specs(s: DashboardSubjects, suffix: str) -> list[AlarmSpec]:
    specs = []
    for name in s.function_names:
        for metric in ("Errors", "Throttles"):
            specs.append(
                AlarmSpec(
                    name=f"{name}-{metric.lower()}",
                    namespace="AWS/Lambda",
                    metric=metric,
                    dimensions={"FunctionName": name},
                    description=f"{name} reported {metric.lower()}",
                )
            )
    for queue in s.queue_names:
        specs.append(
            AlarmSpec(
                name=f"{queue}-not-empty",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue},
                statistic="Maximum",
                description=f"{queue} holds failed deliveries (docs/operations.md: Letting people in)",
            )
        )
    specs.append(
        AlarmSpec(
            name=f"{s.api_name}-5xx-rate",
            namespace="AWS/ApiGateway",
            metric="5XXError",
            dimensions={"ApiName": s.api_name, "Stage": s.stage_name},
            statistic="Average",
            threshold=API_5XX_RATE_THRESHOLD,
            description="More than 5% of API requests failed with 5XX",
        )
    )
    specs.append(
        AlarmSpec(
            name=f"{s.relay_name}-iterator-age",
            namespace="AWS/Lambda",
            metric="IteratorAge",
            dimensions={"FunctionName": s.relay_name},
            statistic="Maximum",
            threshold=RELAY_ITERATOR_AGE_THRESHOLD_MS,
            description="The event relay is more than 5 minutes behind the table streams: notifications are late",
        )
    )
    specs.append(
        AlarmSpec(
            name=f"payout-deadline-missed-{suffix}",
            namespace=s.metrics_namespace,
            metric="PayoutDeadlineMissed",
            dimensions={"service": s.payout_service},
            statistic="Maximum",
            description="Last month's payout had not completed by 03:00 UTC on the 1st (see the payout logs)",
            period_seconds=3600,  # the check reports once a month; keep the alarm up for an hour
        )
    )
    return specs
