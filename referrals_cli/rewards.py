"""The reward lifecycle's admin API (AWS_IAM authorized, signed with SigV4): the review queue
`GET /referrals?status=flagged` and `POST /referrals/{userId}/qualify|approve|reverse`.

Input is checked with the API's own rules before anything is sent (a user id goes into the URL's
path), and every refusal becomes one line that says what to do.
"""

import unicodedata
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from referrals_cli.deployed_code import ApiAnswer, SignedRequest
from referrals_cli.errors import CliError
from referrals_cli.referrers import CODE

# The API's rules (lambdas/referrals/admin_requests.py), repeated: the CLI imports no Lambda code.
MAX_REASON_CHARACTERS = 500
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
CALLER_POLICY_OUTPUT = "admin-caller-policy-arn"


class Action(StrEnum):
    QUALIFY = "qualify"
    APPROVE = "approve"
    REVERSE = "reverse"


@dataclass(frozen=True)
class QueuePage:
    # The API's {"userId", "referrerId", "rewardAmount", "signals", "signupDate", "qualified"}, oldest first.
    items: list[dict[str, Any]]
    next_token: str | None  # None: the last page


def checked_user_id(user_id: str) -> str:
    if not CODE.fullmatch(user_id):
        raise CliError(f"user id must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-', got {user_id!r}")
    return user_id


def checked_reason(reason: str) -> str:
    """What the API accepts as a reason: 1-500 characters, not blank, one line of valid text."""
    if not 1 <= len(reason) <= MAX_REASON_CHARACTERS:
        raise CliError(f"--reason must be 1-{MAX_REASON_CHARACTERS} characters, not {len(reason)}")
    if reason.isspace():
        raise CliError("--reason must not be blank")
    for character in reason:
        category = unicodedata.category(character)
        if category == "Cc":  # a reason is one line of text in events and logs
            raise CliError(f"--reason must not contain control characters (found U+{ord(character):04X})")
        if category == "Cs":  # a lone surrogate: not text DynamoDB can store
            raise CliError(f"--reason must be valid Unicode text (found U+{ord(character):04X})")
    return reason


@dataclass(frozen=True)
class AdminApi:
    signed: SignedRequest
    api_endpoint: str
    caller_policy_arn: str | None  # the stack output admin-caller-policy-arn, named when access is denied

    def act(self, user_id: str, action: Action, reason: str | None = None) -> Any:
        """The reward as it now is, as the API answers it: {"userId", "referrerId", "rewardAmount",
        "status", "qualified", "payableAt"?, "reason"?}. The same for a first call and its repeat."""
        checked_user_id(user_id)
        # `{}` rather than no body for qualify and approve: API Gateway's body model may require JSON.
        body = {"reason": checked_reason(reason or "")} if action is Action.REVERSE else {}
        answer = self.signed("POST", f"{self._base}/referrals/{user_id}/{action}", body)
        if answer.status == 200 and isinstance(answer.body, dict):
            return answer.body
        raise CliError(refusal(answer, f"referral {user_id!r}", self.caller_policy_arn))

    def queue_page(self, limit: int, token: str | None = None) -> QueuePage:
        query = {"status": "flagged", "limit": str(limit), **({"nextToken": token} if token else {})}
        # quote, not quote_plus: SigV4 signs the query as sent, and a token's '=' must be %3D.
        answer = self.signed(
            "GET", f"{self._base}/referrals?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}", None
        )
        body = answer.body
        if answer.status == 200 and isinstance(body, dict) and isinstance(body.get("items"), list):
            return QueuePage(body["items"], body.get("nextToken") or None)
        raise CliError(refusal(answer, "review queue", self.caller_policy_arn))

    def queue_pages(self, limit: int) -> Iterator[QueuePage]:
        """Every page, oldest rewards first, following nextToken to the last page."""
        token = None
        while True:
            page = self.queue_page(limit, token)
            yield page
            if page.next_token is None:
                return
            token = page.next_token

    @property
    def _base(self) -> str:
        return self.api_endpoint.rstrip("/")


def refusal(answer: ApiAnswer, subject: str, caller_policy_arn: str | None) -> str:
    """One line for an admin route's answer other than 200."""
    message, status = answer.message, answer.status
    if status == 409 and isinstance(answer.body, dict):
        return f"{message} (status {answer.body.get('status')})"
    if status == 403:
        policy = f" ({caller_policy_arn})" if caller_policy_arn else ""
        return (
            f"access denied: the API refused the signed request: 403 {message}; attach the managed policy of "
            f"the stack output {CALLER_POLICY_OUTPUT}{policy} to the caller's role or user"
        )
    lines = {
        404: f"unknown {subject}: the API answered 404 ({message})",
        400: f"the API refused the request: 400 {message}",
        429: f"the API throttled the request: 429 {message}; retry shortly",
        503: f"the API answered 503: {message}; retry later",
    }
    return lines.get(status, f"the API answered {status}: {message}")
