import csv
import io
from decimal import Decimal

import pytest

from referrals.payout_report import HEADER, render_report, report_key
from referrals.payout_totals import ReferrerTotal

HEADER_LINE = b"Referrer ID,Total Amount,Referral Count,Payment Status\r\n"


def test_rows_have_two_decimal_places_and_crlf_line_ends() -> None:
    report = render_report([ReferrerTotal("alice", Decimal("10"), 1), ReferrerTotal("bob", Decimal("7.5"), 3)])
    assert report == HEADER_LINE + b"alice,10.00,1,paid\r\nbob,7.50,3,paid\r\n"


def test_an_empty_report_is_just_the_header() -> None:
    assert render_report([]) == HEADER_LINE


def test_referrer_ids_with_commas_quotes_and_line_breaks_are_quoted_per_rfc_4180() -> None:
    rows = [
        ReferrerTotal('acme, "the" best', Decimal("1.00"), 1),
        ReferrerTotal("line\nbreak", Decimal("2.00"), 2),
    ]
    report = render_report(rows)

    assert report == HEADER_LINE + b'"acme, ""the"" best",1.00,1,paid\r\n"line\nbreak",2.00,2,paid\r\n'
    parsed = list(csv.reader(io.StringIO(report.decode("utf-8"), newline="")))
    assert parsed == [list(HEADER), ['acme, "the" best', "1.00", "1", "paid"], ["line\nbreak", "2.00", "2", "paid"]]


def test_non_ascii_referrer_ids_are_utf8() -> None:
    assert render_report([ReferrerTotal("zoë", Decimal("1"), 1)]).endswith("zoë,1.00,1,paid\r\n".encode())


def test_an_amount_that_would_need_rounding_is_refused() -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        render_report([ReferrerTotal("a", Decimal("0.005"), 1)])


def test_the_report_key_is_fixed_per_month() -> None:
    assert report_key("2026-11") == "payouts/2026-11/payout-report.csv"
