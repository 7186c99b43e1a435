"""A Python Lambda function with its own role policy and encrypted log group."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from constructs import Construct

from stacks.lambda_package import build_lambda_zip
from stacks.policies import function_logging_statements
from stacks.policy_documents import assume_role_policy, policy_document

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
SHARED_PACKAGE = LAMBDAS_DIR / "referrals"
ZIP_DIR = PROJECT_ROOT / "build" / "lambda"
RUNTIME = "python3.12"
INSIGHTS_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy"


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def execution_role(scope: Construct, id_: str, function_name: str) -> IamRole:
    """Created before the function so the KMS key policy can name it."""
    return IamRole(
        scope, id_, name=f"{function_name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com")
    )


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    package: str  # directory under lambdas/ holding handler.py
    role: IamRole
    timeout: int
    memory_size: int
    environment: Mapping[str, str]
    statements: Sequence[dict]  # what the function's own code calls; logging is added here
    kms_key_arn: str
    layers: Sequence[str] = ()
    log_retention_days: int = 365
    reserved_concurrency: int | None = None
    dead_letter_arn: str | None = None
    # Asynchronous invocations (the schedule): how often Lambda retries a failed run, and for
    # how long an event stays worth running, before it goes to the dead-letter queue.
    async_retry_attempts: int | None = None
    async_max_event_age_seconds: int | None = None


class PythonFunction(Construct):
    def __init__(self, scope: Construct, id_: str, spec: FunctionSpec) -> None:
        super().__init__(scope, id_)
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=log_group_name(spec.name),
            retention_in_days=spec.log_retention_days,
            kms_key_id=spec.kms_key_arn,
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            name=f"{spec.name}-policy",
            role=spec.role.id,
            policy=policy_document([*function_logging_statements(self.log_group.arn), *spec.statements]),
        )
        insights = IamRolePolicyAttachment(self, "insights", role=spec.role.name, policy_arn=INSIGHTS_POLICY_ARN)
        zip_path = build_lambda_zip([LAMBDAS_DIR / spec.package, SHARED_PACKAGE], ZIP_DIR / f"{spec.name}.zip")
        asset = TerraformAsset(self, "code", path=str(zip_path), type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=spec.name,
            role=spec.role.arn,
            runtime=RUNTIME,
            architectures=["x86_64"],
            handler=f"{spec.package}.handler.handler",
            filename=asset.path,
            source_code_hash=Fn.filebase64sha256(asset.path),
            timeout=spec.timeout,
            memory_size=spec.memory_size,
            reserved_concurrent_executions=spec.reserved_concurrency,
            layers=list(spec.layers),
            environment=LambdaFunctionEnvironment(variables=dict(spec.environment)),
            kms_key_arn=spec.kms_key_arn,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            dead_letter_config=(
                LambdaFunctionDeadLetterConfig(target_arn=spec.dead_letter_arn) if spec.dead_letter_arn else None
            ),
            # The log group must exist first, or Lambda creates one without retention or key.
            depends_on=[self.log_group, self.policy, insights],
        )
        if spec.async_retry_attempts is not None:
            LambdaFunctionEventInvokeConfig(
                self,
                "async-invocations",
                function_name=self.function.function_name,
                maximum_retry_attempts=spec.async_retry_attempts,
                maximum_event_age_in_seconds=spec.async_max_event_age_seconds,
            )
