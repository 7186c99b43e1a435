"""One customer-managed KMS key for all data at rest, with a key policy that names its users.

The account root may administer the key (so it can never be orphaned) and let AWS services
create grants for resources that use it, but it may not decrypt: only the roles and services
named below can use the key for data.
"""

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from stacks.config import StackConfig
from stacks.policies import policy_document

KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
DATA_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"]
DELETION_WINDOW_DAYS = 30


class EncryptionKey(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        config: StackConfig,
        user_roles: Sequence[IamRole],
        log_group_names: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        self.account_id = DataAwsCallerIdentity(self, "account").account_id
        self.partition = DataAwsPartition(self, "partition").partition
        root = f"arn:{self.partition}:iam::{self.account_id}:root"
        log_groups = [
            f"arn:{self.partition}:logs:{config.region}:{self.account_id}:log-group:{name}" for name in log_group_names
        ]
        statements = [
            _statement("KeyAdministrationByTheAccount", {"AWS": root}, KEY_ADMINISTRATION),
            # DynamoDB and Lambda create grants on the deployer's behalf when a table or
            # function is created with this key; only for AWS resources.
            _statement(
                "GrantsForAwsResources",
                {"AWS": root},
                ["kms:CreateGrant"],
                {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            # Lambda encrypts a function's environment with the deployer's credentials; encrypting
            # reveals nothing, decrypting stays with the roles below.
            _statement("EncryptFunctionEnvironments", {"AWS": root}, ["kms:Encrypt"]),
            _statement("DataUseByFunctionAndSchedulerRoles", {"AWS": [role.arn for role in user_roles]}, DATA_USE),
            _statement(
                "LogGroupsOfThisStack",
                {"Service": f"logs.{config.region}.amazonaws.com"},
                ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            ),
            # Alarms publish to the encrypted ops topic.
            _statement(
                "CloudWatchAlarmsOfThisAccount",
                {"Service": "cloudwatch.amazonaws.com"},
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                {"StringEquals": {"aws:SourceAccount": self.account_id}},
            ),
        ]
        self.key = KmsKey(
            self,
            "key",
            description=f"Referral management ({config.environment_suffix}): tables, bucket, topics, queues, logs",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=policy_document(statements),
        )
        KmsAlias(
            self, "alias", name=f"alias/referral-management-{config.environment_suffix}", target_key_id=self.key.key_id
        )

    @property
    def arn(self) -> str:
        return self.key.arn


def _statement(sid: str, principal: dict, actions: list[str], condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement
