"""TapStack: wires the constructs of each concern together and declares the outputs."""

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.api import ReferralApi, access_log_group_name
from stacks.backend import use_state_backend
from stacks.config import StackConfig
from stacks.dashboard import DashboardSubjects
from stacks.deployment_account import deployment_account
from stacks.encryption import EmailKeyHmacKey, EncryptionKey
from stacks.event_relay import StreamRelay
from stacks.functions import FunctionSpec, PythonFunction, execution_role, log_group_name
from stacks.layers import insights_layer_arn, powertools_layer_arn
from stacks.local_emulator import local_provider_settings
from stacks.messaging import Messaging
from stacks.observability import Observability, alarm_arns, alarm_specs
from stacks.people import RoleAccess
from stacks.policies import (
    Account,
    admin_caller_statements,
    admin_function_statements,
    email_key_policy,
    key_policy,
    operator_statements,
    payout_function_statements,
    relay_function_statements,
    report_reader_statements,
    reward_function_statements,
)
from stacks.schedule import PayoutSchedule, scheduler_role
from stacks.storage import Storage, reports_bucket_prefix
from stacks.waf import ApiFirewall, waf_log_group_name

METRICS_NAMESPACE = "ReferralProgram"
REWARD_SERVICE = "reward-calculator"
PAYOUT_SERVICE = "payout-processor"
RELAY_SERVICE = "event-relay"
ADMIN_SERVICE = "referral-admin"
PAYOUT_ASYNC_RETRIES = 2  # Lambda's maximum; each retry resumes the same payout
PAYOUT_MAX_EVENT_AGE_SECONDS = 3600
RELAY_TIMEOUT_SECONDS = 60  # a batch of 100 records is at most 100 publishes


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
        use_state_backend(self, config, config.state_key)

        account = deployment_account(self, config.region)

        reward_name, payout_name = f"reward-calculation-{suffix}", f"payout-processing-{suffix}"
        relay_name = f"event-relay-{suffix}"
        admin_name = f"referral-admin-{suffix}"
        api_name = f"referral-api-{suffix}"
        subjects = DashboardSubjects(
            region=config.region,
            api_name=api_name,
            stage_name=suffix,
            function_names=[reward_name, payout_name, relay_name, admin_name],
            table_names=[f"referral-tracking-{suffix}", f"payout-idempotency-{suffix}"],
            queue_names=[
                f"payout-processing-dlq-{suffix}",
                f"payout-schedule-dlq-{suffix}",
                f"event-relay-dlq-{suffix}",
            ],
            metrics_namespace=METRICS_NAMESPACE,
            metrics_service=REWARD_SERVICE,
            payout_service=PAYOUT_SERVICE,
            relay_name=relay_name,
            relay_service=RELAY_SERVICE,
        )
        specs = alarm_specs(subjects, suffix)
        reward_role = execution_role(self, "reward-calculator-role", reward_name)
        payout_role = execution_role(self, "payout-processor-role", payout_name)
        relay_role = execution_role(self, "event-relay-role", relay_name)
        admin_role = execution_role(self, "referral-admin-role", admin_name)
        schedule_role = scheduler_role(self, "payout-scheduler-role", suffix)
        log_groups = [log_group_name(name) for name in (reward_name, payout_name, relay_name, admin_name)]
        log_groups.append(access_log_group_name(api_name))
        if config.waf_enabled and not config.is_local:
            log_groups.append(waf_log_group_name(config))
        policy = key_policy(
            account,
            service_roles=[reward_role.arn, payout_role.arn, relay_role.arn, admin_role.arn, schedule_role.arn],
            log_group_names=log_groups,
            alarm_arns=alarm_arns(account, specs),
            reports_bucket_prefix=reports_bucket_prefix(suffix),
            report_readers=config.report_reader_role_arns,
            operators=config.operator_role_arns,
        )
        key = EncryptionKey(self, "encryption", config, policy)
        # The reward function keys e-mail items with it; operators run the CLI's backfill with it.
        email_key = EmailKeyHmacKey(
            self,
            "email-keys",
            config,
            email_key_policy(account, mac_users=[reward_role.arn, *config.operator_role_arns]),
        )

        storage = Storage(self, "storage", config, key.arn)
        messaging = Messaging(self, "messaging", config, key.arn)
        # moto cannot serve AWS's public layers, so the local demo runs without them.
        layers = [] if config.is_local else [insights_layer_arn(config.region), powertools_layer_arn(config.region)]
        table, topic = storage.referral_table, messaging.reward_topic
        reward_environment = {
            "REFERRAL_TABLE_NAME": table.name,
            "REGION": config.region,
            "POWERTOOLS_SERVICE_NAME": REWARD_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "REVIEW_EMAIL_KEY_ARN": email_key.arn,
            **config.reward_lifecycle_environment,
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
                statements=reward_function_statements(table.arn, email_key.arn),
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
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": PAYOUT_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=payout_function_statements(
                    table.arn,
                    storage.idempotency_table.arn,
                    storage.reports_bucket.arn,
                    messaging.payout_dlq.arn,
                ),
            ),
        )
        relay = PythonFunction(
            self,
            "event-relay",
            FunctionSpec(
                name=relay_name,
                package="event_relay",
                role=relay_role,
                timeout=RELAY_TIMEOUT_SECONDS,
                memory_size=256,
                layers=layers,
                log_retention_days=config.log_retention_days,
                kms_key_arn=key.arn,
                environment={
                    "SNS_TOPIC_ARN": topic.arn,
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": RELAY_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=relay_function_statements(
                    [table.arn, storage.idempotency_table.arn], topic.arn, messaging.relay_dlq.arn
                ),
            ),
        )
        # The transactional outbox: every committed change is read from the streams and published.
        StreamRelay(
            self,
            "outbox",
            tables=[table, storage.idempotency_table],
            relay=relay.function,
            dead_letter_queue=messaging.relay_dlq,
        )
        admin = PythonFunction(
            self,
            "referral-admin",
            FunctionSpec(
                name=admin_name,
                package="referral_admin",
                role=admin_role,
                timeout=30,
                memory_size=256,
                layers=layers,
                log_retention_days=config.log_retention_days,
                kms_key_arn=key.arn,
                environment={
                    "REFERRAL_TABLE_NAME": table.name,
                    # approve and qualify set payable_at with the same hold as the signup
                    "REWARD_HOLD_DAYS": config.reward_lifecycle_environment["REWARD_HOLD_DAYS"],
                    "REGION": config.region,
                    "POWERTOOLS_SERVICE_NAME": ADMIN_SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=admin_function_statements(table.arn),
            ),
        )
        api = ReferralApi(
            self, "api", config, backend=reward.function, admin_backend=admin.function, kms_key_arn=key.arn
        )
        # For the host backend's role (or an operator's): exactly the admin routes.
        admin_callers = RoleAccess(
            self,
            "admin-callers",
            account=account,
            name=f"referral-admin-callers-{suffix}",
            description="Call the reward admin routes with SigV4: POST /referrals/{userId}/qualify|approve|reverse, "
            "GET /referrals",
            statements=admin_caller_statements(api.admin_route_arns),
            role_arns=(),
        )
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
        observability = Observability(self, "observability", config, subjects, kms_key_arn=key.arn, account=account)
        people = self._people(
            config,
            account=account,
            storage=storage,
            messaging=messaging,
            redrivable_function_arns=[payout.function.arn, relay.function.arn],
            key_arn=key.arn,
            alarm_arns=alarm_arns(account, specs),
            api_key_id=api.api_key.id,
            admin_route_arns=api.admin_route_arns,
            email_key_arn=email_key.arn,
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
            "event-relay-lambda-name": relay.function.function_name,
            "admin-function-name": admin.function.function_name,
            "admin-caller-policy-arn": admin_callers.policy.arn,
            "dlq-url": messaging.payout_dlq.url,
            "schedule-dlq-url": messaging.schedule_dlq.url,
            "relay-dlq-url": messaging.relay_dlq.url,
            "ops-topic-arn": observability.ops_topic.arn,
            "alarm-names": [spec.name for spec in specs],
            "kms-key-arn": key.arn,
            "review-email-key-arn": email_key.arn,
            **people,
            "dashboard-url": (
                f"https://{config.region}.console.aws.amazon.com/cloudwatch/home?region={config.region}"
                f"#dashboards:name={observability.dashboard_name}"
            ),
        }
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

    def _people(
        self,
        config: StackConfig,
        *,
        account: Account,
        storage: Storage,
        messaging: Messaging,
        redrivable_function_arns: list[str],
        key_arn: str,
        alarm_arns: list[str],
        api_key_id: str,
        admin_route_arns: list[str],
        email_key_arn: str,
    ) -> dict[str, str]:
        """Managed policies for the configured people's roles; their ARNs as outputs."""
        suffix, outputs = config.environment_suffix, {}
        if config.report_reader_role_arns:
            readers = RoleAccess(
                self,
                "report-readers",
                account=account,
                name=f"referral-report-readers-{suffix}",
                description="Download payout reports (REPORT_READER_ROLE_ARNS)",
                statements=report_reader_statements(account, storage.reports_bucket.arn, key_arn),
                role_arns=config.report_reader_role_arns,
            )
            outputs["report-reader-policy-arn"] = readers.policy.arn
        if config.operator_role_arns:
            operators = RoleAccess(
                self,
                "operators",
                account=account,
                name=f"referral-operators-{suffix}",
                description="Read and redrive the dead-letter queues, read the tables (OPERATOR_ROLE_ARNS)",
                statements=operator_statements(
                    account,
                    [messaging.payout_dlq.arn, messaging.schedule_dlq.arn, messaging.relay_dlq.arn],
                    [storage.referral_table.arn, storage.idempotency_table.arn],
                    redrivable_function_arns,
                    key_arn,
                    alarm_arns=alarm_arns,
                    api_key_id=api_key_id,
                    admin_route_arns=admin_route_arns,
                    email_key_arn=email_key_arn,
                ),
                role_arns=config.operator_role_arns,
            )
            outputs["operator-policy-arn"] = operators.policy.arn
        return outputs
