"""`--month`: a real month as YYYY-MM that has ended, checked before any AWS call."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from referrals_cli.errors import CliError
from referrals_cli.months import ended_month, months_before

NOW = datetime(2026, 12, 1, 0, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("month", ["2026-11", "2026-01", "1999-12", "0001-01"])
def test_an_ended_month_is_accepted(month: str) -> None:
    assert ended_month(month, NOW) == month


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "2026/11",
        "0000-05",
        "2026-11-01",
        " 2026-11",
        "\uff12\uff10\uff12\uff16-11",
        "",
    ],
)
def test_anything_but_a_real_month_as_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(CliError, match=r"^--month must be a month as YYYY-MM \(e\.g\. 2026-11\), got "):
        ended_month(text, NOW)


@pytest.mark.parametrize("month", ["2026-12", "2027-01", "9999-12"])
def test_the_current_or_a_future_month_has_not_ended(month: str) -> None:
    with pytest.raises(CliError, match=f"^month {month} has not ended yet \\(now 2026-12-01 00:00 UTC\\)"):
        ended_month(month, NOW)


def test_the_month_ends_at_midnight_utc_whatever_the_callers_time_zone() -> None:
    # 30 November 23:30 in UTC-1 is already 1 December in UTC: November has ended.
    late_november_west = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
    assert ended_month("2026-11", late_november_west) == "2026-11"
    with pytest.raises(CliError, match="has not ended"):
        ended_month("2026-11", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))


def test_months_before_count_back_across_the_year() -> None:
    assert months_before(datetime(2027, 2, 10, tzinfo=UTC), 4) == ["2027-01", "2026-12", "2026-11", "2026-10"]
    assert months_before(NOW, 1) == ["2026-11"]
    assert len(set(months_before(NOW, 12))) == 12
