"""One customer-managed KMS key for all data at rest; its policy (stacks/policies.py) names its users."""

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from stacks.config import StackConfig

DELETION_WINDOW_DAYS = 30


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, id_: str, config: StackConfig, policy: str) -> None:
        super().__init__(scope, id_)
        self.key = KmsKey(
            self,
            "key",
            description=f"Referral management ({config.environment_suffix}): tables, bucket, topics, queues, logs",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=policy,
        )
        KmsAlias(
            self, "alias", name=f"alias/referral-management-{config.environment_suffix}", target_key_id=self.key.key_id
        )

    @property
    def arn(self) -> str:
        return self.key.arn
