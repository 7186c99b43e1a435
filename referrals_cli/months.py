"""Payout months: `--month YYYY-MM`, checked before any AWS call, as the payout function checks it."""

import re
from datetime import UTC, datetime

from referrals_cli.errors import CliError

# ASCII digits only and no year 0, as the payout function reads payoutMonth.
MONTH = re.compile(r"(?!0000)[0-9]{4}-(0[1-9]|1[0-2])")


def ended_month(text: str, now: datetime) -> str:
    """`text` when it names a real month that ended before `now`; CliError otherwise."""
    if not MONTH.fullmatch(text):
        raise CliError(f"--month must be a month as YYYY-MM (e.g. 2026-11), got {text!r}")
    current = now.astimezone(UTC)
    if (int(text[:4]), int(text[5:])) >= (current.year, current.month):
        raise CliError(
            f"month {text} has not ended yet (now {current:%Y-%m-%d %H:%M} UTC): a payout pays only a finished month"
        )
    return text


def months_before(now: datetime, count: int) -> list[str]:
    """The `count` months that ended last before `now`, newest first."""
    current = now.astimezone(UTC)
    index = current.year * 12 + current.month - 1  # months since year 0, January = 0
    return [f"{(index - back) // 12:04d}-{(index - back) % 12 + 1:02d}" for back in range(1, count + 1)]


def payout_id(month: str) -> str:
    return f"payout-{month}"
