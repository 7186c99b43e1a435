"""`referrals referrer CODE`: the API's answer, and its refusals as one line each."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from referrals_cli.deployed_code import ApiAnswer
from referrals_cli.errors import CliError
from referrals_cli.referrers import checked_code, recent_referrals, referrer_stats

API = "https://abc.execute-api.eu-west-1.amazonaws.com/dev/"
STATS = {
    "referralCode": "alice",
    "referralCount": 5,
    "totalRewards": Decimal("55.00"),
    "pendingAmount": Decimal("30.00"),
    "paidAmount": Decimal("25.00"),
}


def api(answer: ApiAnswer) -> tuple[list[tuple[str, dict[str, str]]], Any]:
    requests: list[tuple[str, dict[str, str]]] = []

    def get(url: str, headers: Mapping[str, str]) -> ApiAnswer:
        requests.append((url, dict(headers)))
        return answer

    return requests, get


def test_the_stats_come_from_get_referrers_code_with_the_api_key() -> None:
    requests, get = api(ApiAnswer(200, STATS))

    assert referrer_stats(get, API, "key-value", "alice") == STATS
    assert requests == [(f"{API}referrers/alice", {"x-api-key": "key-value", "Accept": "application/json"})]


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            ApiAnswer(404, {"error": "referrer 'carol' does not exist"}),
            "unknown referral code 'carol': the API answered 404 (referrer 'carol' does not exist)",
        ),
        (
            ApiAnswer(403, {"message": "Forbidden"}),
            "the API refused the request: 403 Forbidden (is the stack's API key valid and in its usage plan?)",
        ),
        (ApiAnswer(429, {"message": "Too Many Requests"}), "the API throttled the request: 429 Too Many Requests"),
        (
            ApiAnswer(500, {"error": "internal error", "requestId": "r-1"}),
            "the API answered 500: internal error",
        ),
        (ApiAnswer(502, "<html>Bad Gateway</html>"), "the API answered 502: <html>Bad Gateway</html>"),
    ],
)
def test_refusals_are_one_line(answer: ApiAnswer, line: str) -> None:
    _, get = api(answer)
    with pytest.raises(CliError) as refused:
        referrer_stats(get, API, "key", "carol")
    assert str(refused.value).startswith(line)


@pytest.mark.parametrize("code", ["", "a" * 65, "a b", "a/b", "../x", "é", "a?b=1"])
def test_only_a_valid_referral_code_is_sent(code: str) -> None:
    with pytest.raises(CliError, match=r"^referral code must be 1-64 characters"):
        checked_code(code)


def test_a_valid_code_passes_unchanged() -> None:
    assert checked_code("Ref_a-1") == "Ref_a-1"
    assert checked_code("a" * 64) == "a" * 64


class FakeIndex:
    """referrer-index as DynamoDB pages it (the ledger's items share it: they have a referrer_id)."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages

    def query(self, **request: Any) -> dict[str, Any]:
        assert request["IndexName"] == "referrer-index"
        number = int(request.get("ExclusiveStartKey", {}).get("page", 0))
        page: dict[str, Any] = {"Items": self.pages[number]}
        if number + 1 < len(self.pages):
            page["LastEvaluatedKey"] = {"page": str(number + 1)}
        return page


def item(user: str, timestamp: int, status: str, **more: dict[str, str]) -> dict[str, Any]:
    return {
        "user_id": {"S": user},
        "referral_timestamp": {"N": str(timestamp)},
        "signup_date": {"S": "2026-12-01T20:00:00.000Z"},
        "reward_amount": {"N": "10"},
        "status": {"S": status},
        **more,
    }


def test_recent_referrals_leave_out_the_clawback_ledger_and_show_the_lifecycle_states() -> None:
    index = FakeIndex(
        [
            [
                item("bob", 1, "paid", payout_id={"S": "payout-2026-11"}, clawed_back_at={"N": "5"}),
                item("bob#clawback", 1, "open"),  # the debt of bob's reversal
                item("alice#carry", 1796090400000, "open"),  # what a payout could not net
            ],
            [
                item("carol", 2, "flagged"),
                item("dave", 3, "payable", payable_at={"N": "1796090400123"}),
                item("erin", 4, "reversed"),
                item("frank", 5, "waiting"),
                item("gina", 6, "pending"),
            ],
        ]
    )

    referrals = recent_referrals(index, "referral-tracking-dev", "alice", 10)

    assert [(r.user_id, r.status) for r in referrals] == [
        ("gina", "pending"),
        ("frank", "waiting"),
        ("erin", "reversed"),
        ("dave", "payable"),
        ("carol", "flagged"),
        ("bob", "clawed_back"),  # a paid reward reversed: it stays paid, and its clawback is in the ledger
    ]
    assert referrals[3].payable_at == 1796090400123
