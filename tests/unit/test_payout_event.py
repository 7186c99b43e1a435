from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize(
    "time",
    [
        "2026-02-30T02:00:00Z",  # no 30 February
        "2025-02-29T02:00:00Z",  # not a leap year
        "2026-12-01T24:00:00Z",
        "2026-12-01T02:60:00Z",
        "2026-12-01T02:00:60Z",  # a leap second, which datetime cannot hold
        "0000-12-01T02:00:00Z",
        "2026-13-01T02:00:00Z",
        "2026-00-01T02:00:00Z",
        "2026-12-00T02:00:00Z",
        "\uff12\uff10\uff12\uff16-12-01T02:00:00Z",  # fullwidth digits match \d, not the ISO 8601 format
        "2026-12-01T02:00:00.\u0662\u0665\u0660Z",  # Arabic-Indic digits
    ],
)
def test_impossible_calendar_times_are_invalid_events(time: str) -> None:
    with pytest.raises(InvalidPayoutEvent, match="scheduledTime"):
        parse_payout_event(scheduled(time), NOW)


def test_the_schedule_in_january_of_year_one_would_pay_a_month_before_the_calendar() -> None:
    with pytest.raises(InvalidPayoutEvent, match="before year 1"):
        parse_payout_event(scheduled("0001-01-01T02:00:00Z"), NOW)


@pytest.mark.parametrize("month", ["0000-01", "0000-12", "9999-12", "\uff12\uff10\uff12\uff16-11", "2026-\u0661\u0661"])
def test_months_outside_the_calendar_or_in_other_digits_are_invalid_events(month: str) -> None:
    with pytest.raises(InvalidPayoutEvent, match="payoutMonth"):
        parse_payout_event({"payoutMonth": month}, NOW)


def test_the_first_and_last_months_the_calendar_can_pay() -> None:
    assert parse_payout_event({"payoutMonth": "0001-01"}, NOW).cutoff_ms == ms(1, 2, 1)
    late = datetime(9999, 12, 31, tzinfo=UTC)
    assert parse_payout_event({"payoutMonth": "9999-11"}, late).cutoff_ms == ms(9999, 12, 1)
    assert parse_payout_event(scheduled("9999-12-01T02:00:00Z"), late).month == "9999-11"


# Strings shaped like the Scheduler's time (so they reach the calendar check; \d draws Unicode
# digits too), and anything at all.
near_times = st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]00:00)", fullmatch=True)
calendar_ish = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format,
    *(st.integers(0, limit) for limit in (9999, 13, 32, 24, 60, 60)),
)
any_now = st.datetimes(timezones=st.just(UTC))


@settings(max_examples=500, deadline=None)
@given(st.one_of(near_times, calendar_ish, st.text(max_size=30)), any_now)
@example("2026-02-30T02:00:00Z", NOW)
@example("0001-01-01T02:00:00Z", NOW)
def test_any_scheduled_time_either_parses_or_is_an_invalid_event(time: str, now: datetime) -> None:
    try:
        request = parse_payout_event(scheduled(time), now)
    except InvalidPayoutEvent:
        return
    # What the schedule pays, a manual run can name: the same payout id for the same month.
    assert parse_payout_event({"payoutMonth": request.month}, now).payout_id == request.payout_id


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.from_regex(r"\d{4}-\d{2}", fullmatch=True), st.text(max_size=10)), any_now)
@example("0000-01", NOW)
@example("\uff12\uff10\uff12\uff16-11", NOW)
def test_any_payout_month_either_parses_or_is_an_invalid_event(month: str, now: datetime) -> None:
    try:
        request = parse_payout_event({"payoutMonth": month}, now)
    except InvalidPayoutEvent:
        return
    assert request.month == month and month.isascii()
