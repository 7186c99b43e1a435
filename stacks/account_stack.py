"""Settings that exist once per AWS account and region, in a stack of their own.

API Gateway writes access logs through one CloudWatch role per account and region
(`aws_api_gateway_account`). Created by every environment, the last apply would take the setting
over and destroying that environment would leave the account naming a deleted role. Here it is
managed once: the stack's names, tags and state key depend only on the region (never on
ENVIRONMENT_SUFFIX), so every environment synthesizes the same stack and applying it again is a
no-op. Deploy it once per account and region, before the first environment.
"""

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.backend import use_state_backend
from stacks.config import StackConfig
from stacks.local_emulator import local_provider_settings
from stacks.policy_documents import assume_role_policy

ACCOUNT_STACK_NAME = "tap-account"
PUSH_TO_CLOUDWATCH_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def account_state_key(region: str) -> str:
    return f"account/{region}/api-gateway-account.tfstate"


def api_gateway_logging_role_name(region: str) -> str:
    # IAM is global and the setting is per region: one role per region.
    return f"referral-api-gateway-logs-{region}"


class AccountStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, config: StackConfig) -> None:
        super().__init__(scope, id_)
        AwsProvider(
            self,
            "aws",
            region=config.region,
            # No Environment tag: the stack is shared by every environment of the account.
            default_tags=[AwsProviderDefaultTags(tags={**config.shared_tags, "Scope": "account-and-region"})],
            **local_provider_settings(config),
        )
        use_state_backend(self, config, account_state_key(config.region))
        role = IamRole(
            self,
            "api-gateway-logging-role",
            name=api_gateway_logging_role_name(config.region),
            description="API Gateway writes access and execution logs to CloudWatch Logs (every environment)",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        )
        attachment = IamRolePolicyAttachment(
            self, "api-gateway-logging-policy", role=role.name, policy_arn=PUSH_TO_CLOUDWATCH_POLICY_ARN
        )
        ApiGatewayAccount(
            self,
            "api-gateway-account",
            cloudwatch_role_arn=role.arn,
            # Destroying this stack clears the setting instead of leaving it on a deleted role.
            reset_on_delete=True,
            depends_on=[attachment],
        )
        TerraformOutput(self, "api-gateway-logging-role-arn", value=role.arn)
