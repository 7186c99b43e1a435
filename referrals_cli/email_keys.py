"""`referrals backfill-email-keys`: the e-mail key of every existing profile, for the shared-e-mail
review signal (docs/lifecycle-design.md, E-mail keys).

A signup claims its user's e-mail key in its own transaction; profiles from before the signal (or
from while REVIEW_SHARED_EMAIL was off) have none. This scans the profiles and puts each missing
key on condition that it does not exist: a second run writes nothing, and a key that another user
holds already stays theirs (counted, not overwritten).

The key must be exactly the reward function's (lambdas/referrals/review_signals.py). The CLI
imports no Lambda code, so the rule is repeated here, and tests/unit/test_cli_email_keys.py
checks on generated addresses that both give the same key. No address is ever printed.
"""

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# What the reward function derives its secret from: GenerateMac of this message under the stack's
# HMAC key (output review-email-key-arn).
SECRET_MESSAGE = b"referral-email-key/v1"
MAC_ALGORITHM = "HMAC_SHA_256"
EMAIL_KEY_SUFFIX = "#email"  # the key item: (<key>#email, 0), holding only `owner`
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
GMAIL = "gmail.com"
LEDGER_MARK = "#"  # no user id contains it: items whose key has one are not profiles
PROFILE_TIMESTAMP = 0


class UnusableAddress(ValueError):
    """A stored e-mail that is not an address (no single '@'): it has no key."""


@dataclass
class BackfillSummary:
    scanned: int = 0  # profiles with an e-mail
    written: int = 0  # keys put by this run
    already_there: int = 0  # the profile's own key existed
    taken: int = 0  # the key belongs to another user (their address is the same mailbox)
    unusable: int = 0  # the stored e-mail is not an address: no key

    def as_json(self) -> dict[str, int]:
        return {
            "scanned": self.scanned,
            "written": self.written,
            "alreadyThere": self.already_there,
            "takenByAnotherUser": self.taken,
            "unusableEmail": self.unusable,
        }


def normalized_email(address: str) -> str:
    """The mailbox: case ignored, `+tag` dropped, and for Gmail the dots too (googlemail.com is gmail.com)."""
    local, at, domain = address.rpartition("@")
    if not at or "@" in local:
        raise UnusableAddress("an e-mail address has exactly one '@'")
    local, domain = local.casefold().partition("+")[0], domain.casefold()
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), GMAIL
    return f"{local}@{domain}"


def email_key(address: str, secret: bytes) -> str:
    return hmac.new(secret, normalized_email(address).encode("utf-8"), hashlib.sha256).hexdigest()


def email_key_secret(kms: Any, key_arn: str) -> bytes:
    """The secret the reward function derives at cold start (kms:GenerateMac with the HMAC key)."""
    answer = kms.generate_mac(KeyId=key_arn, Message=SECRET_MESSAGE, MacAlgorithm=MAC_ALGORITHM)
    return bytes(answer["Mac"])


def profiles_with_email(dynamodb: Any, table: str) -> Iterator[tuple[str, str]]:
    """(user id, e-mail) of every profile that has an e-mail, a page of the scan at a time."""
    start = None
    while True:
        page = dynamodb.scan(
            TableName=table,
            FilterExpression="#ts = :profile AND attribute_exists(#email) AND NOT contains(#user, :mark)",
            ProjectionExpression="#user, #email",
            ExpressionAttributeNames={"#ts": "referral_timestamp", "#email": "email", "#user": "user_id"},
            ExpressionAttributeValues={":profile": {"N": str(PROFILE_TIMESTAMP)}, ":mark": {"S": LEDGER_MARK}},
            # Eventually consistent (half the read cost): a profile written meanwhile claimed its key itself.
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for item in page["Items"]:
            yield item["user_id"]["S"], item["email"]["S"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def backfill(
    dynamodb: Any, table: str, secret: bytes, on_profile: Callable[[BackfillSummary], None] = lambda _: None
) -> BackfillSummary:
    summary = BackfillSummary()
    for user_id, address in profiles_with_email(dynamodb, table):
        summary.scanned += 1
        try:
            key = email_key(address, secret)
        except UnusableAddress:
            summary.unusable += 1
        else:
            owner = _put_key(dynamodb, table, key, user_id)
            if owner is None:
                summary.written += 1
            elif owner == user_id:
                summary.already_there += 1
            else:
                summary.taken += 1
        on_profile(summary)
    return summary


def _put_key(dynamodb: Any, table: str, key: str, user_id: str) -> str | None:
    """Puts the key for `user_id` unless it exists; None when put, else the owner it already has."""
    item_key = {"user_id": {"S": f"{key}{EMAIL_KEY_SUFFIX}"}, "referral_timestamp": {"N": str(PROFILE_TIMESTAMP)}}
    try:
        dynamodb.put_item(
            TableName=table,
            Item={**item_key, "owner": {"S": user_id}},
            ConditionExpression="attribute_not_exists(user_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = error.response.get("Item") or _read(dynamodb, table, item_key)
        return str(existing.get("owner", {}).get("S", ""))
    return None


def _read(dynamodb: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
