"""Which month a payout event pays, at the edges of the calendar and of its format (docs:
Monthly payout, "What a run does", step 1)."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from referrals.payout_event import InvalidPayoutEvent, PayoutRequest, is_deadline_check, parse_payout_event

NOW = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)


def scheduled(time: str) -> dict:
    return {"source": "aws.scheduler", "scheduledTime": time, "executionId": "e-1"}


def epoch_ms(*fields: int) -> int:
    return int(datetime(*fields, tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    ("time", "month"),
    [
        ("2027-01-01T02:00:00Z", "2026-12"),
        ("2027-02-01T02:00:00Z", "2027-01"),  # the first schedule of the year that stays in it
        ("2027-03-01T02:00:00Z", "2027-02"),
        ("2026-12-01T02:00:00Z", "2026-11"),
    ],
)
def test_each_schedule_pays_the_calendar_month_before_it(time: str, month: str) -> None:
    request = parse_payout_event(scheduled(time), NOW)
    assert request.month == month
    assert request.payout_id == f"payout-{month}"


def test_a_scheduled_time_equal_to_now_is_not_in_the_future() -> None:
    at = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)
    assert parse_payout_event(scheduled("2027-02-01T02:00:00Z"), at) == PayoutRequest(
        "2027-01", epoch_ms(2027, 2, 1, 2)
    )


def test_a_scheduled_time_one_microsecond_ahead_of_now_is_in_the_future() -> None:
    at = datetime(2027, 2, 1, 1, 59, 59, 999_999, tzinfo=UTC)
    with pytest.raises(InvalidPayoutEvent, match="in the future"):
        parse_payout_event(scheduled("2027-02-01T02:00:00Z"), at)


@pytest.mark.parametrize(
    "time",
    [
        "2027-02-01T02:00:00",  # no zone: which instant is that?
        "2027-02-01 02:00:00Z",
        "27-02-01T02:00:00Z",  # two-digit year
        "2027-2-01T02:00:00Z",
        "2027-02-01T02:00Z",  # no seconds
        "2027-02-01T02:00:00+02:00",  # not UTC
        "2027-02-01T02:00:00z",
    ],
)
def test_a_scheduled_time_not_in_the_schedulers_utc_format_is_refused(time: str) -> None:
    with pytest.raises(InvalidPayoutEvent, match="scheduledTime must be an ISO 8601 UTC time"):
        parse_payout_event(scheduled(time), NOW)


@pytest.mark.parametrize("time", ["2027-02-01T02:00:00+00:00", "2027-02-01T02:00:00-00:00"])
def test_a_zero_offset_is_utc_too(time: str) -> None:
    assert parse_payout_event(scheduled(time), NOW).cutoff_ms == epoch_ms(2027, 2, 1, 2)


@pytest.mark.parametrize(
    "month",
    ["2026-00", "26-11", "026-11", "20261-11", "2026-1", "2026-011", "2026/11", "2026-11-01", "0000-11", ""],
)
def test_a_payout_month_must_be_a_real_month_as_yyyy_mm(month: str) -> None:
    with pytest.raises(InvalidPayoutEvent, match="payoutMonth must be a month as YYYY-MM"):
        parse_payout_event({"payoutMonth": month}, NOW)


@pytest.mark.parametrize(("month", "end"), [("2027-01", (2027, 2, 1)), ("2026-12", (2027, 1, 1))])
def test_a_manual_month_is_paid_up_to_the_first_of_the_next(month: str, end: tuple[int, int, int]) -> None:
    assert parse_payout_event({"payoutMonth": month}, NOW) == PayoutRequest(month, epoch_ms(*end))


def test_the_current_month_has_not_ended_whatever_the_time_zone_of_now() -> None:
    # 2027-06-30 23:00 at UTC-5 is already July in UTC: June has ended.
    evening = datetime(2027, 6, 30, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_payout_event({"payoutMonth": "2027-06"}, evening).month == "2027-06"
    with pytest.raises(InvalidPayoutEvent, match="has not ended yet"):
        parse_payout_event({"payoutMonth": "2027-07"}, evening)


def test_the_february_schedule_of_year_one_pays_its_january() -> None:
    assert parse_payout_event(scheduled("0001-02-01T02:00:00Z"), NOW) == PayoutRequest("0001-01", epoch_ms(1, 2, 1, 2))


@pytest.mark.parametrize(("fraction", "ms"), [(".250999", 250), (".000999", 0), (".9999999", 999), (".5", 500)])
def test_a_cutoff_is_a_whole_millisecond_cut_down_from_the_scheduled_time(fraction: str, ms: int) -> None:
    cutoff = parse_payout_event(scheduled(f"2027-02-01T02:00:00{fraction}Z"), NOW).cutoff_ms
    assert isinstance(cutoff, int)
    assert cutoff == epoch_ms(2027, 2, 1, 2) + ms


@pytest.fixture
def host_far_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local time zone at UTC+14 (POSIX TZ: the sign is inverted)."""
    monkeypatch.setenv("TZ", "KIR-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures(host_far_east_of_utc.__name__)
def test_whether_a_month_has_ended_is_decided_in_utc_not_the_hosts_zone() -> None:
    noon_last_day = datetime(2027, 6, 30, 12, 0, tzinfo=UTC)  # already 1 July at UTC+14
    with pytest.raises(InvalidPayoutEvent, match="has not ended yet"):
        parse_payout_event({"payoutMonth": "2027-06"}, noon_last_day)
    assert parse_payout_event({"payoutMonth": "2027-05"}, noon_last_day).month == "2027-05"


@pytest.mark.parametrize(
    ("event", "is_check"),
    [
        ({"source": "aws.scheduler", "scheduledTime": "2026-12-01T03:00:00Z", "check": "completed"}, True),
        ({"payoutMonth": "2026-11", "check": "completed"}, True),
        ({"source": "aws.scheduler", "scheduledTime": "2026-12-01T02:00:00Z"}, False),
        ({"check": "started"}, False),
        ({"check": None}, False),
        ({"Check": "completed"}, False),
        (["check", "completed"], False),
        ("completed", False),
        (None, False),
    ],
)
def test_only_check_completed_asks_whether_the_payout_is_done(event: object, is_check: bool) -> None:
    assert is_deadline_check(event) is is_check
