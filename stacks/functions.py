"""A Python Lambda function with its own role, policy and log group."""

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
from constructs import Construct

from stacks.lambda_package import build_lambda_zip
from stacks.policies import allow, assume_role_policy, policy_document

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
SHARED_PACKAGE = LAMBDAS_DIR / "referrals"
ZIP_DIR = PROJECT_ROOT / "build" / "lambda"
RUNTIME = "python3.12"
INSIGHTS_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    package: str  # directory under lambdas/ holding handler.py
    timeout: int
    memory_size: int
    environment: Mapping[str, str]
    statements: Sequence[dict]  # what the function's own code calls; logging is added here
    layers: Sequence[str] = ()
    log_retention_days: int = 30
    reserved_concurrency: int | None = None
    dead_letter_arn: str | None = None


class PythonFunction(Construct):
    def __init__(self, scope: Construct, id_: str, spec: FunctionSpec) -> None:
        super().__init__(scope, id_)
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{spec.name}",
            retention_in_days=spec.log_retention_days,
        )
        self.role = IamRole(
            self,
            "role",
            name=f"{spec.name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            name=f"{spec.name}-policy",
            role=self.role.id,
            policy=policy_document([*self._logging_statements(), *spec.statements]),
        )
        IamRolePolicyAttachment(self, "insights", role=self.role.name, policy_arn=INSIGHTS_POLICY_ARN)
        zip_path = build_lambda_zip([LAMBDAS_DIR / spec.package, SHARED_PACKAGE], ZIP_DIR / f"{spec.name}.zip")
        asset = TerraformAsset(self, "code", path=str(zip_path), type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=spec.name,
            role=self.role.arn,
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
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            dead_letter_config=(
                LambdaFunctionDeadLetterConfig(target_arn=spec.dead_letter_arn) if spec.dead_letter_arn else None
            ),
            # The log group must exist first, or Lambda creates one without retention.
            depends_on=[self.log_group, self.policy],
        )

    def _logging_statements(self) -> list[dict]:
        return [
            allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.arn}:*"]),
            # X-Ray has no resource-level permissions for these actions.
            allow("WriteTraces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        ]
