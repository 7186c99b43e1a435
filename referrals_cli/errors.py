"""Expected failures as one line each: what went wrong and what to do about it.

A command raises CliError for what it can explain itself; errors from botocore (credentials,
permissions, the network) are turned into a line here. Anything else is a bug and keeps its
traceback.
"""

from collections.abc import Callable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
)

# Error codes AWS services use for a caller that may not do something.
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",  # SNS
        "AuthorizationErrorException",
        "UnauthorizedOperation",
        "KMS.AccessDeniedException",
        "KMSAccessDeniedException",  # Lambda, decrypting its environment
    }
)
# ... and for credentials that AWS does not accept at all.
CREDENTIALS_REJECTED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "RequestExpired",
    }
)
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "NoSuchBucket", "NonExistentQueue", "NotFoundException"})


class CliError(Exception):
    """An expected failure; its message is the one line the user sees."""


def aws_error_line(error: BotoCoreError | ClientError) -> str:
    """The one line for an error botocore raised."""
    if isinstance(error, ClientError):
        return _client_error_line(error)
    for kinds, line in _LINES:
        if isinstance(error, kinds):
            return line(error)
    return str(error)


_LINES: tuple[tuple[tuple[type[BotoCoreError], ...], Callable[[BotoCoreError], str]], ...] = (
    (
        (NoCredentialsError, PartialCredentialsError),
        lambda error: (
            "no AWS credentials: set AWS_PROFILE or pass --profile, or configure the credential chain "
            f"(aws configure, aws sso login, environment variables) ({error})"
        ),
    ),
    (
        (TokenRetrievalError, SSOTokenLoadError),
        lambda error: f"the AWS SSO session has expired or is missing: run `aws sso login` ({error})",
    ),
    ((ProfileNotFound,), lambda error: f"{error}: check --profile / AWS_PROFILE against ~/.aws/config"),
    ((NoRegionError,), lambda error: "no AWS region: pass --region or set AWS_REGION"),
    (
        (EndpointConnectionError, ConnectTimeoutError),
        lambda error: f"cannot reach AWS ({error}): check the network, --region and AWS_ENDPOINT_URL",
    ),
    ((ReadTimeoutError,), lambda error: f"AWS did not answer in time ({error})"),
)


def _client_error_line(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")).strip() or code
    operation = error.operation_name
    if code in ACCESS_DENIED_CODES:
        return f"access denied: {operation}: {message}"
    if code in CREDENTIALS_REJECTED_CODES:
        return f"AWS rejected the credentials ({code}): {message}"
    if code in NOT_FOUND_CODES:
        return f"not found: {operation}: {message} (is the stack deployed in this account and region?)"
    return f"{operation} failed: {code}: {message}"
