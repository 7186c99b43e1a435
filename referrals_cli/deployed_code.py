"""How the CLI reaches the deployment's code: Lambda's synchronous Invoke and the API over HTTPS.

Both go through DeployedCode, which a caller may replace (Typer's `obj`): the local emulator
stores the functions but cannot run them (that needs Docker), so `make demo` and tests/e2e hand
in stand-ins that run the deployed handlers in their own process, as they do for everything else.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


InvokeFunction = Callable[[str, dict[str, Any]], FunctionAnswer]  # (function name, event)
GetUrl = Callable[[str, Mapping[str, str]], ApiAnswer]  # (url, headers)


@dataclass(frozen=True)
class DeployedCode:
    invoke: InvokeFunction
    get: GetUrl


def deployed_code(lambda_client: Any) -> DeployedCode:
    """The real thing: Lambda through boto3, the API through urllib."""
    return DeployedCode(invoke=function_invoker(lambda_client), get=https_get)


def function_invoker(lambda_client: Any) -> InvokeFunction:
    def invoke(function: str, event: dict[str, Any]) -> FunctionAnswer:
        response = lambda_client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        text = response["Payload"].read().decode("utf-8", errors="replace")
        return FunctionAnswer(_json_or_text(text), response.get("FunctionError"))

    return invoke


def https_get(url: str, headers: Mapping[str, str]) -> ApiAnswer:
    if not url.startswith(("https://", "http://")):
        raise CliError(f"the API endpoint is not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310 - scheme checked above
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
