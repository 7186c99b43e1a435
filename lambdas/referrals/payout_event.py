"""Which payout an invocation asks for: the monthly Scheduler event or a manual {"payoutMonth": "YYYY-MM"}.

The payout month is the month whose rewards are paid. The cutoff is the instant before which a
payable reward belongs to this payout: the scheduled time for the Scheduler (02:00 UTC on the 1st
pays the month before), the end of the month for a manual run.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

SCHEDULER_SOURCE = "aws.scheduler"
# The deadline schedule (03:00 UTC on the 1st) sends this to ask "is the payout done?" instead of
# running it; stacks/schedule.py sets it.
DEADLINE_CHECK = {"check": "completed"}
# ASCII digits only: \d also matches other scripts' digits, and int() reads them, so 2026-11 in
# fullwidth digits would name a payout of its own. There is no year 0.
_MONTH = re.compile(r"(?!0000)[0-9]{4}-(0[1-9]|1[0-2])")
# Scheduler's <aws.scheduler.scheduled-time> is ISO 8601 in UTC with seconds, e.g. 2026-12-01T02:00:00Z.
_SCHEDULED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]00:00)")


class InvalidPayoutEvent(ValueError):
    """The event names no payout this function can run; nothing has been read or written."""


@dataclass(frozen=True)
class PayoutRequest:
    month: str  # "YYYY-MM", the month whose rewards are paid
    cutoff_ms: int  # rewards created before this instant (epoch ms) belong to the payout

    @property
    def payout_id(self) -> str:
        return f"payout-{self.month}"


def is_deadline_check(event: object) -> bool:
    return isinstance(event, Mapping) and event.get("check") == DEADLINE_CHECK["check"]


def parse_payout_event(event: object, now: datetime) -> PayoutRequest:
    if not isinstance(event, Mapping):
        raise InvalidPayoutEvent(f"payout event must be a JSON object, got {type(event).__name__}")
    if "payoutMonth" in event:
        if "scheduledTime" in event:
            raise InvalidPayoutEvent("give either payoutMonth or a Scheduler scheduledTime, not both")
        return _manual_request(event["payoutMonth"], now)
    if event.get("source") == SCHEDULER_SOURCE:
        return _scheduled_request(event.get("scheduledTime"), now)
    raise InvalidPayoutEvent(
        'expected {"payoutMonth": "YYYY-MM"} or a Scheduler event with source "aws.scheduler" and scheduledTime'
    )


def _manual_request(value: object, now: datetime) -> PayoutRequest:
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise InvalidPayoutEvent(f"payoutMonth must be a month as YYYY-MM, got {value!r}")
    year, month = int(value[:4]), int(value[5:])
    # Compared as (year, month) first: 9999-12 ends in year 10000, which datetime cannot hold.
    current = now.astimezone(UTC)
    if (year, month) >= (current.year, current.month):
        raise InvalidPayoutEvent(f"payoutMonth {value} has not ended yet; a payout pays only a finished month")
    return PayoutRequest(month=value, cutoff_ms=_epoch_ms(_first_of_next_month(year, month)))


def _scheduled_request(value: object, now: datetime) -> PayoutRequest:
    if not isinstance(value, str) or not _SCHEDULED_TIME.fullmatch(value):
        raise InvalidPayoutEvent(f"scheduledTime must be an ISO 8601 UTC time like 2026-12-01T02:00:00Z, got {value!r}")
    try:
        scheduled = datetime.fromisoformat(value)  # reads "Z" as UTC (Python 3.11 and later)
    except ValueError as error:  # the right shape, but no such time: 2026-02-30, hour 24, year 0000
        raise InvalidPayoutEvent(f"scheduledTime {value!r} is not a real UTC time: {error}") from error
    if scheduled > now:
        # A cutoff in the future would pay rewards created while the payout runs.
        raise InvalidPayoutEvent(f"scheduledTime {value} is in the future")
    year, month = (scheduled.year, scheduled.month - 1) if scheduled.month > 1 else (scheduled.year - 1, 12)
    if year < 1:
        raise InvalidPayoutEvent(f"scheduledTime {value} would pay a month before year 1")
    return PayoutRequest(month=f"{year:04d}-{month:02d}", cutoff_ms=_epoch_ms(scheduled))


def _first_of_next_month(year: int, month: int) -> datetime:
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _epoch_ms(instant: datetime) -> int:
    # Integer arithmetic on the timedelta: float timestamps could be off by a millisecond.
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
