"""TapStack: wires the constructs of each concern together and declares the outputs."""

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.api import ReferralApi, access_log_group_name
from stacks.config import StackConfig
from stacks.dashboard import DashboardSubjects
from stacks.encryption import EncryptionKey
from stacks.functions import FunctionSpec, PythonFunction, execution_role, log_group_name
from stacks.layers import insights_layer_arn, powertools_layer_arn
from stacks.local_emulator import local_provider_settings
from stacks.messaging import Messaging
from stacks.observability import Observability
from stacks.permissions import payout_statements, reward_statements
from stacks.schedule import PayoutSchedule, scheduler_role
from stacks.storage import Storage
from stacks.waf import ApiFirewall, waf_log_group_name

METRICS_NAMESPACE = "ReferralProgram"
REWARD_SERVICE = "reward-calculator"
PAYOUT_SERVICE = "payout-processor"
PAYOUT_ASYNC_RETRIES = 2  # Lambda's maximum; each retry resumes the same payout
PAYOUT_MAX_EVENT_AGE_SECONDS = 3600


class TapStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, config: StackConfig) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags=config.default_tags)],
            **local_provider_settings(config),
        )
        self._backend(config)

        reward_name, payout_name = f"reward-calculation-{suffix}", f"payout-processing-{suffix}"
        api_name = f"referral-api-{suffix}"
        reward_role = execution_role(self, "reward-calculator-role", reward_name)
        payout_role = execution_role(self, "payout-processor-role", payout_name)
        schedule_role = scheduler_role(self, "payout-scheduler-role", suffix)
        log_groups = [log_group_name(reward_name), log_group_name(payout_name), access_log_group_name(api_name)]
        if config.waf_enabled and not config.is_local:
            log_groups.append(waf_log_group_name(config))
        key = EncryptionKey(self, "encryption", config, [reward_role, payout_role, schedule_role], log_groups)

        storage = Storage(self, "storage", config, key.arn)
        messaging = Messaging(self, "messaging", config, key.arn)
        # moto cannot serve AWS's public layers, so the local demo runs without them.
        layers = [] if config.is_local else [insights_layer_arn(config.region), powertools_layer_arn(config.region)]
        table, topic = storage.referral_table, messaging.reward_topic
        reward_environment = {
            "REFERRAL_TABLE_NAME": table.name,
            "SNS_TOPIC_ARN": topic.arn,
            "REGION": config.region,
            "POWERTOOLS_SERVICE_NAME": REWARD_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        if config.reward_tiers is not None:
            reward_environment["REWARD_TIERS"] = config.reward_tiers
        reward = PythonFunction(
            self,
            "reward-calculator",
            FunctionSpec(
                name=reward_name,
                package="reward_calculator",
                role=reward_role,
                timeout=30,
                memory_size=512,
                layers=layers,
                log_retention_days=config.log_retention_days,
                kms_key_arn=key.arn,
                environment=reward_environment,
                statements=reward_statements(table.arn, topic.arn),
            ),
        )
        payout = PythonFunction(
            self,
            "payout-processor",
            FunctionSpec(
                name=payout_name,
                package="payout_processor",
                role=payout_role,
                timeout=300,
                memory_size=1024,
                reserved_concurrency=5,
                dead_letter_arn=messaging.payout_dlq.arn,
                async_retry_attempts=PAYOUT_ASYNC_RETRIES,
                async_max_event_age_seconds=PAYOUT_MAX_EVENT_AGE_SECONDS,
                layers=layers,
                log_retention_days=config.log_retention_days,
                kms_key_arn=key.arn,
                environment={
                    "REFERRAL_TABLE_NAME": table.name,
                    "IDEMPOTENCY_TABLE_NAME": storage.idempotency_table.name,
                    "REPORTS_BUCKET_NAME": storage.reports_bucket.bucket,
                    "REPORTS_KMS_KEY_ARN": key.arn,
                    "SNS_TOPIC_ARN": topic.arn,
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": PAYOUT_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=payout_statements(
                    table.arn,
                    storage.idempotency_table.arn,
                    storage.reports_bucket.arn,
                    topic.arn,
                    messaging.payout_dlq.arn,
                ),
            ),
        )
        api = ReferralApi(self, "api", config, reward.function, key.arn)
        # WAF cannot be emulated locally; everywhere else it is on unless switched off.
        if config.waf_enabled and not config.is_local:
            ApiFirewall(self, "waf", config, api.stage.arn, key.arn)
        PayoutSchedule(
            self,
            "schedule",
            config,
            role=schedule_role,
            payout_function=payout.function,
            dead_letter_queue=messaging.schedule_dlq,
        )
        observability = Observability(
            self,
            "observability",
            config,
            DashboardSubjects(
                region=config.region,
                api_name=api.api_name,
                stage_name=suffix,
                function_names=[reward_name, payout_name],
                table_names=[f"referral-tracking-{suffix}", f"payout-idempotency-{suffix}"],
                queue_names=[f"payout-processing-dlq-{suffix}", f"payout-schedule-dlq-{suffix}"],
                metrics_namespace=METRICS_NAMESPACE,
                metrics_service=REWARD_SERVICE,
                payout_service=PAYOUT_SERVICE,
            ),
            key.arn,
        )

        outputs = {
            "api-endpoint": api.stage.invoke_url,
            "api-gateway-id": api.rest_api.id,
            "api-key-id": api.api_key.id,
            "referral-table-name": table.name,
            "idempotency-table-name": storage.idempotency_table.name,
            "s3-bucket": storage.reports_bucket.bucket,
            "sns-topic": topic.arn,
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
