"""Provider settings for the local demo: every AWS API at an emulator on this machine.

Only used when LOCAL_AWS_ENDPOINT is set; a real deployment's JSON carries none of this.
"""

from typing import Any

from cdktf_cdktf_provider_aws.provider import AwsProviderEndpoints

from stacks.config import StackConfig

EMULATED_SERVICES = (
    "apigateway",
    "cloudwatch",
    "cloudwatchlogs",
    "dynamodb",
    "iam",
    "kms",
    "lambda_",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "sts",
)
FAKE_CREDENTIAL = "test"  # moto accepts any credentials


def local_provider_settings(config: StackConfig) -> dict[str, Any]:
    if config.local_endpoint is None:
        return {}
    return {
        "access_key": FAKE_CREDENTIAL,
        "secret_key": FAKE_CREDENTIAL,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [AwsProviderEndpoints(**dict.fromkeys(EMULATED_SERVICES, config.local_endpoint))],
    }
