"""The customer-managed KMS keys: one for all data at rest, one HMAC key for the review e-mail keys;
their policies (stacks/policies.py) name their users."""

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


class EmailKeyHmacKey(Construct):
    """The KMS HMAC key that keys the e-mail items: the reward function derives its secret from it
    (GenerateMac of a constant message, once per cold start), so no plain address becomes a key.

    KMS does not rotate HMAC keys, and a new key would change every e-mail key (the backfill would
    have to run again), so rotation is off on purpose (.checkov.yaml, docs/security.md).
    """

    def __init__(self, scope: Construct, id_: str, config: StackConfig, policy: str) -> None:
        super().__init__(scope, id_)
        self.key = KmsKey(
            self,
            "review-email-key",  # the logical name tests/stack/test_least_privilege.py knows it by
            description=f"Referral management ({config.environment_suffix}): HMAC key of the review e-mail keys",
            customer_master_key_spec="HMAC_256",
            key_usage="GENERATE_VERIFY_MAC",
            enable_key_rotation=False,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=policy,
        )
        KmsAlias(
            self, "alias", name=f"alias/referral-email-keys-{config.environment_suffix}", target_key_id=self.key.key_id
        )

    @property
    def arn(self) -> str:
        return self.key.arn
