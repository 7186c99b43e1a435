"""Where referral data lives: the referral and idempotency tables and the payout-report bucket."""

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from stacks.config import StackConfig
from stacks.data_names import (
    CLAWBACK_AT,
    FLAGGED_KEY,
    OPEN_CLAWBACK_KEY,
    OPEN_CLAWBACKS_INDEX,
    PAYABLE_AT,
    PAYABLE_KEY,
    PAYABLE_REWARDS_INDEX,
    PAYOUT_INDEX,
    PAYOUT_PROJECTION,
    PENDING_REWARDS_INDEX,
    REFERRER_INDEX,
    REVIEW_QUEUE_INDEX,
    REVIEW_QUEUE_PROJECTION,
)
from stacks.policies import reports_bucket_policy

STREAM_VIEW = "NEW_AND_OLD_IMAGES"
REPORT_GLACIER_AFTER_DAYS = 90
NONCURRENT_VERSIONS_KEPT_DAYS = 30
ABORT_MULTIPART_AFTER_DAYS = 7


def reports_bucket_prefix(suffix: str) -> str:
    return f"payout-reports-{suffix}-"


class Storage(Construct):
    def __init__(self, scope: Construct, id_: str, config: StackConfig, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.referral_table = DynamodbTable(
            self,
            "referral-table",
            name=f"referral-tracking-{suffix}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="user_id",
            range_key="referral_timestamp",
            attribute=[
                DynamodbTableAttribute(name="user_id", type="S"),
                DynamodbTableAttribute(name="referral_timestamp", type="N"),
                DynamodbTableAttribute(name="referrer_id", type="S"),
                DynamodbTableAttribute(name="pending_reward", type="S"),
                DynamodbTableAttribute(name="payout_id", type="S"),
                DynamodbTableAttribute(name=PAYABLE_KEY, type="S"),
                DynamodbTableAttribute(name=PAYABLE_AT, type="N"),
                DynamodbTableAttribute(name=FLAGGED_KEY, type="S"),
                DynamodbTableAttribute(name=OPEN_CLAWBACK_KEY, type="S"),
                DynamodbTableAttribute(name=CLAWBACK_AT, type="N"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(name=REFERRER_INDEX, hash_key="referrer_id", projection_type="ALL"),
                # Sparse: only pending rewards carry pending_reward, so a payout reads what it pays.
                DynamodbTableGlobalSecondaryIndex(
                    name=PENDING_REWARDS_INDEX,
                    hash_key="pending_reward",
                    range_key="referral_timestamp",
                    projection_type="INCLUDE",
                    non_key_attributes=PAYOUT_PROJECTION,
                ),
                # Sparse: lets a resumed payout find the rewards it claimed before a crash.
                DynamodbTableGlobalSecondaryIndex(
                    name=PAYOUT_INDEX,
                    hash_key="payout_id",
                    range_key="referral_timestamp",
                    projection_type="INCLUDE",
                    non_key_attributes=PAYOUT_PROJECTION,
                ),
                # Sparse: only payable rewards carry payable_reward; payable_at has the hold baked in,
                # so "payable before the cutoff" is one key condition and held rewards are never read.
                DynamodbTableGlobalSecondaryIndex(
                    name=PAYABLE_REWARDS_INDEX,
                    hash_key=PAYABLE_KEY,
                    range_key=PAYABLE_AT,
                    projection_type="INCLUDE",
                    non_key_attributes=PAYOUT_PROJECTION,
                ),
                # Sparse: the review queue, flagged rewards oldest first, with what a page shows.
                DynamodbTableGlobalSecondaryIndex(
                    name=REVIEW_QUEUE_INDEX,
                    hash_key=FLAGGED_KEY,
                    range_key="referral_timestamp",
                    projection_type="INCLUDE",
                    non_key_attributes=REVIEW_QUEUE_PROJECTION,
                ),
                # Sparse: clawbacks and carries while open, for the payout to net.
                DynamodbTableGlobalSecondaryIndex(
                    name=OPEN_CLAWBACKS_INDEX,
                    hash_key=OPEN_CLAWBACK_KEY,
                    range_key=CLAWBACK_AT,
                    projection_type="INCLUDE",
                    non_key_attributes=PAYOUT_PROJECTION,
                ),
            ],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=kms_key_arn),
            deletion_protection_enabled=config.deletion_protection,
            # The outbox: every committed change, before and after, for the event relay.
            stream_enabled=True,
            stream_view_type=STREAM_VIEW,
        )
        self.idempotency_table = DynamodbTable(
            self,
            "idempotency-table",
            name=f"payout-idempotency-{suffix}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="idempotency_key",
            attribute=[DynamodbTableAttribute(name="idempotency_key", type="S")],
            ttl=DynamodbTableTtl(attribute_name="ttl", enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=kms_key_arn),
            deletion_protection_enabled=config.deletion_protection,
            stream_enabled=True,
            stream_view_type=STREAM_VIEW,
        )
        self.reports_bucket = self._reports_bucket(config, kms_key_arn)

    def _reports_bucket(self, config: StackConfig, kms_key_arn: str) -> S3Bucket:
        # bucket_prefix: Terraform appends a unique suffix at create time, so the name is
        # globally unique while the synthesized JSON stays the same on every run.
        bucket = S3Bucket(self, "reports-bucket", bucket_prefix=reports_bucket_prefix(config.environment_suffix))
        S3BucketVersioningA(
            self,
            "reports-versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "reports-encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                        )
                    ),
                    # One data key per bucket, not per object: fewer KMS calls, lower cost.
                    bucket_key_enabled=True,
                )
            ],
        )
        S3BucketPublicAccessBlock(
            self,
            "reports-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "reports-ownership",
            bucket=bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketLifecycleConfiguration(
            self,
            "reports-lifecycle",
            bucket=bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="archive-reports",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    transition=[
                        S3BucketLifecycleConfigurationRuleTransition(
                            days=REPORT_GLACIER_AFTER_DAYS, storage_class="GLACIER"
                        )
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=NONCURRENT_VERSIONS_KEPT_DAYS
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=ABORT_MULTIPART_AFTER_DAYS
                        )
                    ],
                )
            ],
        )
        # moto enforces a bucket policy's Deny but ignores its Condition, so locally this TLS-only
        # policy would refuse every object request; the local demo runs without it.
        if not config.is_local:
            S3BucketPolicy(
                self,
                "reports-policy",
                bucket=bucket.id,
                policy=reports_bucket_policy(bucket.arn, config.report_reader_role_arns),
            )
        return bucket
