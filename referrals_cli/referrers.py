"""A referrer: the API's statistics (GET /referrers/{code}) and their latest referrals from the table."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from referrals_cli.deployed_code import ApiAnswer, GetUrl
from referrals_cli.errors import CliError

# The API's own rule for a referral code (lambdas/referrals/validation.py); checked here too, so
# that nothing but a valid code is ever put into the URL's path.
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
REFERRER_INDEX = "referrer-index"  # referral items by referrer_id (lambdas/referrals/contract.py)
REFERRAL_ATTRIBUTES = ("user_id", "referral_timestamp", "signup_date", "reward_amount", "status", "payout_id")


@dataclass(frozen=True)
class Referral:
    user_id: str
    referral_timestamp: int  # epoch ms
    signup_date: str
    reward_amount: Decimal
    status: str  # pending, paid
    payout_id: str | None


def checked_code(code: str) -> str:
    if not CODE.fullmatch(code):
        raise CliError(f"referral code must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-', got {code!r}")
    return code


def referrer_stats(get: GetUrl, api_endpoint: str, api_key: str, code: str) -> dict[str, Any]:
    """The API's statistics: referralCode, referralCount, totalRewards, pendingAmount, paidAmount."""
    answer = get(f"{api_endpoint.rstrip('/')}/referrers/{code}", {"x-api-key": api_key, "Accept": "application/json"})
    if answer.status == 200 and isinstance(answer.body, dict):
        return answer.body
    raise CliError(_refusal(answer, code))


def _refusal(answer: ApiAnswer, code: str) -> str:
    body = answer.body
    message = (body.get("error") or body.get("message")) if isinstance(body, Mapping) else str(body)[:200]
    if answer.status == 404:
        return f"unknown referral code {code!r}: the API answered 404 ({message})"
    if answer.status == 403:
        return f"the API refused the request: 403 {message} (is the stack's API key valid and in its usage plan?)"
    if answer.status == 429:
        return f"the API throttled the request: 429 {message}; retry shortly"
    return f"the API answered {answer.status}: {message}"


def recent_referrals(dynamodb: Any, table: str, code: str, limit: int) -> list[Referral]:
    """The referrer's `limit` newest referrals. The index has no sort key, so every referral of the
    referrer is read (a few hundred bytes each) and the newest kept."""
    deserialize = TypeDeserializer().deserialize
    names = {f"#{name}": name for name in REFERRAL_ATTRIBUTES}  # status is a reserved word
    referrals: list[Referral] = []
    start = None
    while True:
        page = dynamodb.query(
            TableName=table,
            IndexName=REFERRER_INDEX,
            KeyConditionExpression="referrer_id = :code",
            ExpressionAttributeValues={":code": {"S": code}},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for item in page["Items"]:
            plain = {name: deserialize(value) for name, value in item.items()}
            referrals.append(
                Referral(
                    user_id=str(plain["user_id"]),
                    referral_timestamp=int(plain["referral_timestamp"]),
                    signup_date=str(plain.get("signup_date", "")),
                    reward_amount=Decimal(plain.get("reward_amount", 0)),
                    status=str(plain.get("status", "")),
                    payout_id=plain.get("payout_id"),
                )
            )
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    referrals.sort(key=lambda referral: referral.referral_timestamp, reverse=True)
    return referrals[:limit]
