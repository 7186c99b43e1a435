"""How the CLI reaches the deployment's code: Lambda's synchronous Invoke and the API over HTTPS.

The API has two kinds of route: the public ones, reached with the stack's API key (`get`), and
the admin ones, authorized by IAM, which take a request signed with SigV4 for `execute-api`
(`signed`). All three go through DeployedCode, which a caller may replace (Typer's `obj`): the
local emulator stores the functions but cannot run them (that needs Docker), so `make demo` and
tests/e2e hand in stand-ins that run the deployed handlers in their own process, as they do for
everything else.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import NoCredentialsError

from referrals_cli.aws import Aws
from referrals_cli.errors import CliError

API_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class FunctionAnswer:
    payload: Any  # the function's JSON answer; when it raised, Lambda's {"errorType", "errorMessage", ...}
    error: str | None = None  # Lambda's FunctionError ("Unhandled"): the function raised

    @property
    def error_type(self) -> str:
        return str(self.payload.get("errorType", "")) if isinstance(self.payload, dict) else ""

    @property
    def error_message(self) -> str:
        return str(self.payload.get("errorMessage", "")) if isinstance(self.payload, dict) else str(self.payload)


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # the JSON body (numbers with a fraction as Decimal), or the text when it is not JSON

    @property
    def message(self) -> str:
        """What the answer says went wrong: the function's `error`, API Gateway's `message`, or the text."""
        if isinstance(self.body, Mapping):
            return str(self.body.get("error") or self.body.get("message") or "")
        return str(self.body)[:200]


InvokeFunction = Callable[[str, dict[str, Any]], FunctionAnswer]  # (function name, event)
GetUrl = Callable[[str, Mapping[str, str]], ApiAnswer]  # (url, headers)
# (method, url, body bytes or None, headers): sends a request already signed (signed_request).
SendSigned = Callable[[str, str, bytes | None, Mapping[str, str]], ApiAnswer]
# (method, url, JSON body or None) -> the answer, signed with the caller's AWS credentials.
SignedRequest = Callable[[str, str, Any], ApiAnswer]

SIGNED_SERVICE = "execute-api"  # SigV4's service name for API Gateway's IAM-authorized methods


@dataclass(frozen=True)
class DeployedCode:
    invoke: InvokeFunction
    get: GetUrl  # the public routes, with the API key
    signed: SendSigned  # the admin routes (AWS_IAM): requests signed by signed_request


def deployed_code(lambda_client: Any) -> DeployedCode:
    """The real thing: Lambda through boto3, the API through urllib."""
    return DeployedCode(invoke=function_invoker(lambda_client), get=https_get, signed=https_send)


def function_invoker(lambda_client: Any) -> InvokeFunction:
    def invoke(function: str, event: dict[str, Any]) -> FunctionAnswer:
        response = lambda_client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        text = response["Payload"].read().decode("utf-8", errors="replace")
        return FunctionAnswer(_json_or_text(text), response.get("FunctionError"))

    return invoke


def https_get(url: str, headers: Mapping[str, str]) -> ApiAnswer:
    return https_send("GET", url, None, headers)


def signed_request(aws: Aws, send: SendSigned) -> SignedRequest:
    """Requests signed as the AWS CLI would sign them: the session's credentials (the normal chain,
    --profile), the session's region (--region, else the deployment's), service execute-api."""

    def signed(method: str, url: str, body: Any) -> ApiAnswer:
        prepared = signed_headers(aws, method, url, body)
        return send(method, url, prepared.body, prepared.headers)

    return signed


@dataclass(frozen=True)
class PreparedRequest:
    body: bytes | None
    headers: dict[str, str]


def signed_headers(aws: Aws, method: str, url: str, body: Any) -> PreparedRequest:
    """The body's bytes and the headers of the request, SigV4 Authorization included."""
    credentials = aws.session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Accept": "application/json"} | ({} if data is None else {"Content-Type": "application/json"})
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), SIGNED_SERVICE, aws.region).add_auth(request)
    return PreparedRequest(data, {name: str(value) for name, value in request.headers.items()})


def https_send(method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> ApiAnswer:
    if not url.startswith(("https://", "http://")):
        raise CliError(f"the API endpoint is not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as response:  # noqa: S310 - as above
            return ApiAnswer(response.status, _json_or_text(response.read().decode("utf-8", errors="replace")))
    except urllib.error.HTTPError as error:  # a 4xx/5xx answer is still an answer
        return ApiAnswer(error.code, _json_or_text(error.read().decode("utf-8", errors="replace")))
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise CliError(f"cannot reach the API at {url}: {reason}") from error


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text or "null", parse_float=Decimal)  # amounts stay exact
    except ValueError:
        return text
