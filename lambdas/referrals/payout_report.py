"""The payout report: one CSV row per referrer, rendered byte-for-byte the same on every run.

The four columns of the original report come first, unchanged in meaning (Total Amount is what
is paid); the netting's columns follow, so a reader of the first four sees what it always did.
"""

import csv
import io
from collections.abc import Iterable

from referrals.money import two_places
from referrals.payout_totals import ReferrerTotal

HEADER = (
    "Referrer ID",
    "Total Amount",
    "Referral Count",
    "Payment Status",
    "Gross Amount",
    "Clawed Back",
    "Carried Forward",
)
PAID = "paid"
NETTED = "netted"  # clawbacks took the whole total: nothing is paid


def report_key(month: str) -> str:
    """Deterministic key: a rerun of the month overwrites the same object."""
    return f"payouts/{month}/payout-report.csv"


def render_report(rows: Iterable[ReferrerTotal]) -> bytes:
    """RFC 4180 CSV (CRLF line ends, fields quoted only when needed), UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            (
                row.referrer_id,
                two_places(row.amount),
                row.reward_count,
                NETTED if row.is_netted else PAID,
                two_places(row.gross),
                two_places(row.clawed_back),
                two_places(row.carried_forward),
            )
        )
    return buffer.getvalue().encode("utf-8")
