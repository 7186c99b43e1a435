"""boto3 for the deployment's account and region, through the normal credential chain.

AWS_PROFILE / --profile, environment variables, SSO and instance roles all work as they do for
the AWS CLI; so does AWS_ENDPOINT_URL (botocore reads it), which points every client at the local
emulator in `make demo` and tests/e2e.
"""

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from referrals_cli.errors import CliError, aws_error_line

# A synchronous invoke waits for the function: longer than Lambda's 900 s maximum, so botocore
# never gives up on (and resends) an invocation that is still running.
INVOKE_READ_TIMEOUT_SECONDS = 910
# botocore 1.44 sends dynamodbstreams calls to an account-based endpoint; the regional one is
# the same API and is what an explicit AWS_ENDPOINT_URL replaces anyway.
CLIENT_CONFIGS = {
    "lambda": Config(read_timeout=INVOKE_READ_TIMEOUT_SECONDS),
    "dynamodbstreams": Config(account_id_endpoint_mode="disabled"),
}


@dataclass
class Aws:
    session: boto3.session.Session
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=CLIENT_CONFIGS.get(service))
        return self._clients[service]


def connect(*, region: str | None, profile: str | None, deployment_region: str | None) -> Aws:
    """A session for --region, else the deployment's own region, else the configured default."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region or deployment_region)
    except ProfileNotFound as error:
        raise CliError(aws_error_line(error)) from error
    if not session.region_name:
        raise CliError("no AWS region: pass --region or set AWS_REGION")
    return Aws(session)


def api_key_value(aws: Aws, key_id: str) -> str:
    """The value of the stack's API key (output api-key-id), as `aws apigateway get-api-key` reads it."""
    return str(aws.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"])
