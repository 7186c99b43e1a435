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
REFERRAL_ATTRIBUTES = (
    "user_id",
    "referral_timestamp",
    "signup_date",
    "reward_amount",
    "status",
    "payout_id",
    "payable_at",
    "clawed_back_at",
)
# The clawback ledger shares the index with the referrals (it has a referrer_id): a clawback at
# `<referee>#clawback`, a carry at `<referrer>#carry`. They are not referrals.
LEDGER_SUFFIXES = ("#clawback", "#carry")
CLAWED_BACK = "clawed_back"  # a paid reward reversed: it stays paid and gains clawed_back_at


@dataclass(frozen=True)
class Referral:
    user_id: str
    referral_timestamp: int  # epoch ms
    signup_date: str
    reward_amount: Decimal
    # The lifecycle state: waiting, flagged, payable, paid, reversed, clawed_back; pending for
    # rewards from before the lifecycle (the payout pays them as payable).
    status: str
    payout_id: str | None
    payable_at: int | None = None  # epoch ms: the first payout whose cutoff is later pays it


def checked_code(code: str) -> str:
    if not CODE.fullmatch(code):
        raise CliError(f"referral code must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-', got {code!r}")
    return code


def referrer_stats(get: GetUrl, api_endpoint: str, api_key: str, code: str) -> dict[str, Any]:
    """The API's statistics: referralCode, referralCount, totalRewards, pendingAmount, paidAmount, and
    from the reward lifecycle on waitingAmount, flaggedAmount, payableAmount, reversedAmount and
    openClawbackAmount."""
    answer = get(f"{api_endpoint.rstrip('/')}/referrers/{code}", {"x-api-key": api_key, "Accept": "application/json"})
    if answer.status == 200 and isinstance(answer.body, dict):
        return answer.body
    raise CliError(_refusal(answer, code))


def _refusal(answer: ApiAnswer, code: str) -> str:
    message = answer.message
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
            if not str(plain["user_id"]).endswith(LEDGER_SUFFIXES):
                referrals.append(referral_of(plain))
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    referrals.sort(key=lambda referral: referral.referral_timestamp, reverse=True)
    return referrals[:limit]


def referral_of(item: Mapping[str, Any]) -> Referral:
    """A referral item, deserialized."""
    status = str(item.get("status", ""))
    payable_at = item.get("payable_at")
    return Referral(
        user_id=str(item["user_id"]),
        referral_timestamp=int(item["referral_timestamp"]),
        signup_date=str(item.get("signup_date", "")),
        reward_amount=Decimal(item.get("reward_amount", 0)),
        status=CLAWED_BACK if "clawed_back_at" in item else status,
        payout_id=item.get("payout_id"),
        payable_at=None if payable_at is None else int(payable_at),
    )
