"""TapStack: wires the constructs of each concern together and declares the outputs."""

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.api import ReferralApi
from stacks.config import StackConfig
from stacks.dashboard import DashboardSubjects
from stacks.functions import FunctionSpec, PythonFunction
from stacks.layers import insights_layer_arn, powertools_layer_arn
from stacks.messaging import Messaging
from stacks.observability import Observability
from stacks.policies import allow
from stacks.schedule import PayoutSchedule
from stacks.storage import PAYOUT_INDEX, PENDING_REWARDS_INDEX, Storage

METRICS_NAMESPACE = "ReferralProgram"
REWARD_SERVICE = "reward-calculator"
PAYOUT_SERVICE = "payout-processor"


class TapStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, config: StackConfig) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags=config.default_tags)],
        )
        self._backend(config)

        storage = Storage(self, "storage", config)
        messaging = Messaging(self, "messaging", config)
        layers = [insights_layer_arn(config.region), powertools_layer_arn(config.region)]
        referral_table = storage.referral_table
        reward = PythonFunction(
            self,
            "reward-calculator",
            FunctionSpec(
                name=f"reward-calculation-{suffix}",
                package="reward_calculator",
                timeout=30,
                memory_size=512,
                layers=layers,
                log_retention_days=config.log_retention_days,
                environment={
                    "REFERRAL_TABLE_NAME": referral_table.name,
                    "SNS_TOPIC_ARN": messaging.reward_topic.arn,
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": REWARD_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=[
                    allow(
                        "ReadAndRecordReferrals",
                        [
                            "dynamodb:GetItem",
                            "dynamodb:Query",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:ConditionCheckItem",
                        ],
                        [referral_table.arn],
                    ),
                    allow("PublishRewards", ["sns:Publish"], [messaging.reward_topic.arn]),
                ],
            ),
        )
        payout = PythonFunction(
            self,
            "payout-processor",
            FunctionSpec(
                name=f"payout-processing-{suffix}",
                package="payout_processor",
                timeout=300,
                memory_size=1024,
                reserved_concurrency=5,
                dead_letter_arn=messaging.payout_dlq.arn,
                layers=layers,
                log_retention_days=config.log_retention_days,
                environment={
                    "REFERRAL_TABLE_NAME": referral_table.name,
                    "IDEMPOTENCY_TABLE_NAME": storage.idempotency_table.name,
                    "REPORTS_BUCKET_NAME": storage.reports_bucket.bucket,
                    "SNS_TOPIC_ARN": messaging.reward_topic.arn,
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": PAYOUT_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=[
                    allow(
                        "ReadPendingAndClaimedRewards",
                        ["dynamodb:Query"],
                        [
                            f"{referral_table.arn}/index/{PENDING_REWARDS_INDEX}",
                            f"{referral_table.arn}/index/{PAYOUT_INDEX}",
                        ],
                    ),
                    allow(
                        "ClaimRewardsAndUpdateProfiles",
                        ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                        [referral_table.arn],
                    ),
                    allow(
                        "RecordPayoutRuns",
                        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                        [storage.idempotency_table.arn],
                    ),
                    allow("WriteReports", ["s3:PutObject"], [f"{storage.reports_bucket.arn}/payouts/*"]),
                    allow("PublishPayouts", ["sns:Publish"], [messaging.reward_topic.arn]),
                    allow("DeadLetterFailedRuns", ["sqs:SendMessage"], [messaging.payout_dlq.arn]),
                ],
            ),
        )
        api = ReferralApi(self, "api", config, reward.function)
        PayoutSchedule(self, "schedule", config, payout.function, messaging.schedule_dlq)
        observability = Observability(
            self,
            "observability",
            config,
            DashboardSubjects(
                region=config.region,
                api_name=api.api_name,
                stage_name=suffix,
                function_names=[f"reward-calculation-{suffix}", f"payout-processing-{suffix}"],
                table_names=[f"referral-tracking-{suffix}", f"payout-idempotency-{suffix}"],
                queue_names=[f"payout-processing-dlq-{suffix}", f"payout-schedule-dlq-{suffix}"],
                metrics_namespace=METRICS_NAMESPACE,
                metrics_service=REWARD_SERVICE,
            ),
        )

        outputs = {
            "api-endpoint": api.stage.invoke_url,
            "api-gateway-id": api.rest_api.id,
            "referral-table-name": referral_table.name,
            "idempotency-table-name": storage.idempotency_table.name,
            "s3-bucket": storage.reports_bucket.bucket,
            "sns-topic": messaging.reward_topic.arn,
            "reward-calc-lambda-name": reward.function.function_name,
            "payout-lambda-name": payout.function.function_name,
            "dlq-url": messaging.payout_dlq.url,
            "dashboard-url": (
                f"https://{config.region}.console.aws.amazon.com/cloudwatch/home?region={config.region}"
                f"#dashboards:name={observability.dashboard_name}"
            ),
        }
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

    def _backend(self, config: StackConfig) -> None:
        if config.state_bucket is None:
            # Relative to cdktf.out/stacks/<stack>/: the state lives in the project root, outside
            # the synth output (which each synth rewrites), and no absolute path enters the JSON.
            LocalBackend(self, path=f"../../../terraform.{self.node.id}.tfstate")
            return
        S3Backend(
            self,
            bucket=config.state_bucket,
            key=config.state_key,
            region=config.state_bucket_region,
            encrypt=True,
        )
        # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it.
        self.add_override("terraform.backend.s3.use_lockfile", True)
