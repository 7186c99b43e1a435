"""What a payout reports: the stored summary, the SNS notification and the handler's response."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from referrals.money import add, cents, two_places

COMPLETED_EVENT_TYPE = "payout.completed"


@dataclass(frozen=True)
class PayoutSummary:
    payout_id: str
    month: str
    total_referrers: int
    total_amount: Decimal  # exact, two places
    rewards_paid: int
    report_location: str  # s3://bucket/key
    # Netting (docs/lifecycle-design.md): what clawbacks took of the rewards, what is still owed
    # of the clawbacks this payout settled, and how many it settled. total_amount is what is paid.
    clawed_back_amount: Decimal = Decimal("0.00")
    carried_forward_amount: Decimal = Decimal("0.00")
    clawbacks_settled: int = 0

    @property
    def gross_amount(self) -> Decimal:
        """The rewards this payout paid, before netting: what is paid plus what was clawed back."""
        return cents(add(self.total_amount, self.clawed_back_amount))


class PayoutStatus(StrEnum):
    COMPLETED = "completed"  # this invocation finished the payout
    ALREADY_COMPLETED = "already_completed"  # an earlier invocation did; nothing was done now
    IN_PROGRESS_ELSEWHERE = "in_progress_elsewhere"  # another invocation holds a live lease


@dataclass(frozen=True)
class PayoutOutcome:
    status: PayoutStatus
    payout_id: str
    month: str
    summary: PayoutSummary | None = None  # None only while in progress elsewhere


def summary_record(summary: PayoutSummary) -> dict[str, str | int | Decimal]:
    """The summary as the run record stores it (a map), with everything the notification needs."""
    return {
        "payoutId": summary.payout_id,
        "payoutMonth": summary.month,
        "totalReferrers": summary.total_referrers,
        "totalAmount": summary.total_amount,
        "rewardsPaid": summary.rewards_paid,
        "reportLocation": summary.report_location,
        **_netting(summary),
    }


def _netting(summary: PayoutSummary) -> dict[str, int | Decimal]:
    return {
        "grossAmount": summary.gross_amount,
        "clawedBackAmount": summary.clawed_back_amount,
        "carriedForwardAmount": summary.carried_forward_amount,
        "clawbacksSettled": summary.clawbacks_settled,
    }


def summary_from_record(record: Mapping[str, Any]) -> PayoutSummary:
    """The summary back from its stored map (plain values, numbers as Decimal or int)."""
    return PayoutSummary(
        payout_id=str(record["payoutId"]),
        month=str(record["payoutMonth"]),
        total_referrers=int(record["totalReferrers"]),
        # DynamoDB drops trailing zeros (12.50 -> 12.5); the summary always shows two places.
        total_amount=cents(Decimal(record["totalAmount"])),
        rewards_paid=int(record["rewardsPaid"]),
        report_location=str(record["reportLocation"]),
        # A record completed before the lifecycle netted nothing: it has none of these.
        clawed_back_amount=cents(Decimal(record.get("clawedBackAmount", 0))),
        carried_forward_amount=cents(Decimal(record.get("carriedForwardAmount", 0))),
        clawbacks_settled=int(record.get("clawbacksSettled", 0)),
    )


def completed_message(summary: PayoutSummary) -> dict:
    """The payout.completed notification body, without its eventId (see outbox_events)."""
    return {
        "type": COMPLETED_EVENT_TYPE,
        "payoutId": summary.payout_id,
        "payoutMonth": summary.month,
        "totalReferrers": summary.total_referrers,
        "totalAmount": summary.total_amount,
        "reportLocation": summary.report_location,
        **_netting(summary),
    }


def response(outcome: PayoutOutcome) -> dict:
    """The handler's return value.

    The amounts are strings with two places: Lambda's runtime turns a Decimal into a float when it
    encodes the return value, so a number could come back as 1234.4999999.
    """
    base = {"payoutId": outcome.payout_id, "payoutMonth": outcome.month, "status": outcome.status.value}
    summary = outcome.summary
    if summary is None:
        message = f"Payout {outcome.payout_id} is in progress in another invocation; nothing was paid here"
        return {"message": message, **base}
    if outcome.status is PayoutStatus.COMPLETED:
        message = f"Payout {summary.payout_id} completed"
    else:
        message = f"Payout {summary.payout_id} was already completed; returning its stored summary"
    return {
        "message": message,
        "totalReferrers": summary.total_referrers,
        "totalAmount": two_places(summary.total_amount),
        "reportLocation": summary.report_location,
        "rewardsPaid": summary.rewards_paid,
        "grossAmount": two_places(summary.gross_amount),
        "clawedBackAmount": two_places(summary.clawed_back_amount),
        "carriedForwardAmount": two_places(summary.carried_forward_amount),
        "clawbacksSettled": summary.clawbacks_settled,
        **base,
    }
