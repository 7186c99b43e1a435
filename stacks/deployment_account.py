"""The account and partition the stack is applied to, read by Terraform at plan time."""

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from stacks.policies import Account


def deployment_account(scope: Construct, region: str) -> Account:
    caller = DataAwsCallerIdentity(scope, "account")
    return Account(id=caller.account_id, partition=DataAwsPartition(scope, "partition").partition, region=region)
