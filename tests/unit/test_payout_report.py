import csv
import io
from decimal import Decimal

import pytest

from referrals.payout_report import HEADER, render_report, report_key
from referrals.payout_totals import ReferrerTotal

HEADER_LINE = b"Referrer ID,Total Amount,Referral Count,Payment Status,Gross Amount,Clawed Back,Carried Forward\r\n"


def test_rows_have_two_decimal_places_and_crlf_line_ends() -> None:
    report = render_report([ReferrerTotal("alice", Decimal("10"), 1), ReferrerTotal("bob", Decimal("7.5"), 3)])
    assert report == HEADER_LINE + b"alice,10.00,1,paid,10.00,0.00,0.00\r\nbob,7.50,3,paid,7.50,0.00,0.00\r\n"


def test_an_empty_report_is_just_the_header() -> None:
    assert render_report([]) == HEADER_LINE


def test_referrer_ids_with_commas_quotes_and_line_breaks_are_quoted_per_rfc_4180() -> None:
    rows = [
        ReferrerTotal('acme, "the" best', Decimal("1.00"), 1),
        ReferrerTotal("line\nbreak", Decimal("2.00"), 2),
    ]
    report = render_report(rows)

    assert report == HEADER_LINE + (
        b'"acme, ""the"" best",1.00,1,paid,1.00,0.00,0.00\r\n"line\nbreak",2.00,2,paid,2.00,0.00,0.00\r\n'
    )
    parsed = list(csv.reader(io.StringIO(report.decode("utf-8"), newline="")))
    assert parsed == [
        list(HEADER),
        ['acme, "the" best', "1.00", "1", "paid", "1.00", "0.00", "0.00"],
        ["line\nbreak", "2.00", "2", "paid", "2.00", "0.00", "0.00"],
    ]


def test_non_ascii_referrer_ids_are_utf8() -> None:
    report = render_report([ReferrerTotal("zoë", Decimal("1"), 1)])
    assert report.endswith("zoë,1.00,1,paid,1.00,0.00,0.00\r\n".encode())


def test_an_amount_that_would_need_rounding_is_refused() -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        render_report([ReferrerTotal("a", Decimal("0.005"), 1)])


def test_the_original_four_columns_come_first_then_the_netting() -> None:
    assert HEADER[:4] == ("Referrer ID", "Total Amount", "Referral Count", "Payment Status")
    assert HEADER[4:] == ("Gross Amount", "Clawed Back", "Carried Forward")


@pytest.mark.parametrize(
    ("row", "line"),
    [
        # 30.00 earned, 12.50 clawed back: 17.50 paid, nothing owed any more.
        (ReferrerTotal("ann", Decimal("17.50"), 3, Decimal("12.50")), b"ann,17.50,3,paid,30.00,12.50,0.00\r\n"),
        # 10.00 earned, 25.00 owed: all of it netted, 15.00 carried to the next payout.
        (
            ReferrerTotal("ben", Decimal("0.00"), 1, Decimal("10.00"), Decimal("15.00")),
            b"ben,0.00,1,netted,10.00,10.00,15.00\r\n",
        ),
        # A reward of 0.00 and nothing owed is paid (nothing), not netted.
        (ReferrerTotal("cat", Decimal("0.00"), 1), b"cat,0.00,1,paid,0.00,0.00,0.00\r\n"),
    ],
)
def test_netted_rows_show_gross_clawed_back_and_carried_forward(row: ReferrerTotal, line: bytes) -> None:
    assert render_report([row]) == HEADER_LINE + line


def test_the_report_key_is_fixed_per_month() -> None:
    assert report_key("2026-11") == "payouts/2026-11/payout-report.csv"
