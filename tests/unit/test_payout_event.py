from datetime import UTC, datetime

import pytest

from referrals.payout_event import InvalidPayoutEvent, PayoutRequest, parse_payout_event

NOW = datetime(2026, 12, 1, 2, 0, 7, tzinfo=UTC)


def ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * 1000


def scheduled(time: str) -> dict:
    return {"source": "aws.scheduler", "scheduledTime": time, "executionId": "e-1"}


def test_the_schedule_pays_the_month_before_its_scheduled_time_up_to_that_time() -> None:
    request = parse_payout_event(scheduled("2026-12-01T02:00:00Z"), NOW)
    assert request == PayoutRequest(month="2026-11", cutoff_ms=ms(2026, 12, 1, 2))
    assert request.payout_id == "payout-2026-11"


def test_the_january_schedule_pays_december_of_the_year_before() -> None:
    request = parse_payout_event(scheduled("2027-01-01T02:00:00Z"), datetime(2027, 1, 1, 3, tzinfo=UTC))
    assert (request.payout_id, request.cutoff_ms) == ("payout-2026-12", ms(2027, 1, 1, 2))


def test_a_scheduled_time_with_an_offset_or_fraction_is_read_exactly() -> None:
    request = parse_payout_event(scheduled("2026-12-01T02:00:00.250+00:00"), NOW)
    assert request.cutoff_ms == ms(2026, 12, 1, 2) + 250


def test_a_manual_month_is_paid_up_to_its_end() -> None:
    assert parse_payout_event({"payoutMonth": "2026-11"}, NOW) == PayoutRequest("2026-11", ms(2026, 12, 1))
    assert parse_payout_event({"payoutMonth": "2025-12"}, NOW) == PayoutRequest("2025-12", ms(2026, 1, 1))


def test_a_manual_month_and_the_schedule_name_the_same_payout() -> None:
    manual = parse_payout_event({"payoutMonth": "2026-11"}, NOW)
    assert manual.payout_id == parse_payout_event(scheduled("2026-12-01T02:00:00Z"), NOW).payout_id


def test_a_month_that_has_not_ended_is_refused() -> None:
    with pytest.raises(InvalidPayoutEvent, match="has not ended yet"):
        parse_payout_event({"payoutMonth": "2026-12"}, NOW)


def test_a_month_ending_exactly_now_can_be_paid() -> None:
    assert parse_payout_event({"payoutMonth": "2026-11"}, datetime(2026, 12, 1, tzinfo=UTC)).month == "2026-11"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "must be a JSON object"),
        (["2026-11"], "must be a JSON object"),
        ({}, "expected"),
        ({"source": "aws.events"}, "expected"),
        ({"payoutMonth": "2026-13"}, "YYYY-MM"),
        ({"payoutMonth": "2026-1"}, "YYYY-MM"),
        ({"payoutMonth": " 2026-11"}, "YYYY-MM"),
        ({"payoutMonth": 202611}, "YYYY-MM"),
        ({"payoutMonth": "November"}, "YYYY-MM"),
        ({"payoutMonth": "2026-11", "scheduledTime": "2026-12-01T02:00:00Z"}, "not both"),
        ({"source": "aws.scheduler"}, "scheduledTime must be"),
        (scheduled("2026-12-01"), "scheduledTime must be"),
        (scheduled("2026-12-01T02:00:00+01:00"), "scheduledTime must be"),
        (scheduled("<aws.scheduler.scheduled-time>"), "scheduledTime must be"),
        (scheduled("2026-12-01T02:00:08Z"), "in the future"),
    ],
)
def test_invalid_events_are_refused_with_a_clear_error(event: object, message: str) -> None:
    with pytest.raises(InvalidPayoutEvent, match=message) as raised:
        parse_payout_event(event, NOW)
    assert isinstance(raised.value, ValueError)
