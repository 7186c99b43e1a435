"""What the commands print: Rich tables for people, JSON for scripts (--json).

In JSON, amounts are strings with exactly two decimal places ("35.40"), as the payout summary's
totalAmount is: a JSON number would turn into a float in most readers. Times are ISO 8601 UTC.
"""

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.status import Status as Spinner
from rich.table import Table

from referrals_cli.email_keys import BackfillSummary
from referrals_cli.payouts import PayoutResult, Report, RunRecord
from referrals_cli.referrers import Referral
from referrals_cli.status import RUN_LOOKBACK_MONTHS, Status

# The statistics' amounts; the reward lifecycle's (the last five) only when the API has them.
STATS_AMOUNTS = (
    "totalRewards",
    "pendingAmount",
    "paidAmount",
    "waitingAmount",
    "flaggedAmount",
    "payableAmount",
    "reversedAmount",
    "openClawbackAmount",
)
LIFECYCLE_ROWS = (
    ("waiting", "waitingAmount"),  # waiting for qualification, or in its hold
    ("flagged", "flaggedAmount"),
    ("payable", "payableAmount"),
    ("reversed", "reversedAmount"),
    ("clawbacks open", "openClawbackAmount"),
)
REWARD_AMOUNTS = ("rewardAmount",)
# The payout summary's amounts: what is paid, then the clawback netting's (payouts since issue 16).
SUMMARY_AMOUNTS = ("totalAmount", "grossAmount", "clawedBackAmount", "carriedForwardAmount")


def console() -> Console:
    # Made per command: it writes to whatever sys.stdout is then (a test runner replaces it).
    return Console(highlight=False)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=_plain))


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def money(value: Any) -> str:
    """An exact amount with two decimal places; Decimal(str(...)) so an int or a JSON number keeps its value."""
    return f"{Decimal(str(value)):.2f}"


def iso_time(value: datetime | int | float | None) -> str | None:
    """ISO 8601 UTC for a datetime or epoch seconds."""
    if value is None:
        return None
    return _iso(value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC))


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown_time(value: datetime | int | float | None) -> str:
    text = iso_time(value)
    return "-" if text is None else text.replace("T", " ").replace("Z", " UTC")


def _with_amounts(data: Mapping[str, Any], amounts: tuple[str, ...]) -> dict[str, Any]:
    return {name: money(value) if name in amounts and value is not None else value for name, value in data.items()}


def _key_values(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, value)
    return table


# status -------------------------------------------------------------------------------------------


def status_json(status: Status) -> dict[str, Any]:
    return {
        "region": status.region,
        "outputs": status.outputs,
        "alarmsInAlarm": [
            {"name": alarm.name, "reason": alarm.reason, "since": iso_time(alarm.since)} for alarm in status.alarms
        ],
        "deadLetterQueues": [
            {
                "output": queue.output,
                "url": queue.url,
                "holds": queue.holds,
                "approximateMessages": queue.visible,
                "approximateMessagesInFlight": queue.in_flight,
            }
            for queue in status.queues
        ],
        "lastPayoutRun": None if status.last_run is None else run_record_json(status.last_run),
    }


def render_status(out: Console, status: Status) -> None:
    out.print(_key_values(f"Deployment ({status.region})", list(status.outputs.items())))
    out.print()
    if status.alarms:
        alarms = Table(title=f"Alarms in ALARM: {len(status.alarms)}", title_justify="left")
        alarms.add_column("alarm", no_wrap=True)
        alarms.add_column("since", no_wrap=True)
        alarms.add_column("reason", overflow="fold")
        for alarm in status.alarms:
            alarms.add_row(alarm.name, _shown_time(alarm.since), alarm.reason)
        out.print(alarms)
    else:
        out.print("Alarms in ALARM: none")
    out.print()
    queues = Table(title="Dead-letter queues (approximate)", title_justify="left")
    queues.add_column("output", no_wrap=True)
    queues.add_column("messages", justify="right")
    queues.add_column("in flight", justify="right")
    queues.add_column("holds", overflow="fold")
    for queue in status.queues:
        queues.add_row(queue.output, str(queue.visible), str(queue.in_flight), queue.holds)
    out.print(queues)
    out.print()
    if status.last_run is None:
        out.print(f"Last payout run: none in the last {RUN_LOOKBACK_MONTHS} months")
    else:
        render_run_record(out, status.last_run, title="Last payout run")


# referrer -----------------------------------------------------------------------------------------


def referral_json(referral: Referral) -> dict[str, Any]:
    data = {
        "userId": referral.user_id,
        "referralTimestamp": referral.referral_timestamp,
        "signupDate": referral.signup_date,
        "rewardAmount": money(referral.reward_amount),
        "status": referral.status,
        "payoutId": referral.payout_id,
    }
    if referral.status == "payable" and referral.payable_at is not None:
        data["payableAt"] = _iso_ms(referral.payable_at)
    return data


def _iso_ms(epoch_ms: int) -> str:
    """ISO 8601 UTC to the millisecond, as the API writes signupDate and payableAt."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, UTC).replace(microsecond=epoch_ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def referrer_json(stats: Mapping[str, Any], referrals: list[Referral]) -> dict[str, Any]:
    return {**_with_amounts(stats, STATS_AMOUNTS), "recentReferrals": [referral_json(r) for r in referrals]}


def render_referrer(out: Console, stats: Mapping[str, Any], referrals: list[Referral]) -> None:
    rows = [
        ("referral code", str(stats.get("referralCode"))),
        ("referrals", str(stats.get("referralCount"))),
        ("earned", money(stats.get("totalRewards", 0))),
        ("pending", money(stats.get("pendingAmount", 0))),
        ("paid", money(stats.get("paidAmount", 0))),
        *((name, money(stats[field])) for name, field in LIFECYCLE_ROWS if stats.get(field) is not None),
    ]
    out.print(_key_values(f"Referrer {stats.get('referralCode')}", rows))
    out.print()
    if not referrals:
        out.print("No referrals yet")
        return
    table = Table(title=f"Latest {len(referrals)} referrals (newest first)", title_justify="left")
    table.add_column("user", overflow="fold")
    table.add_column("signed up", no_wrap=True)
    table.add_column("reward", justify="right")
    table.add_column("status")
    table.add_column("payout", no_wrap=True)
    for referral in referrals:
        table.add_row(
            referral.user_id,
            referral.signup_date.replace("T", " ")[:19],
            money(referral.reward_amount),
            referral.status,
            referral.payout_id or "-",
        )
    out.print(table)


# the reward lifecycle -----------------------------------------------------------------------------


def queued_json(items: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {"items": [_with_amounts(item, REWARD_AMOUNTS) for item in items]}
    if next_token is not None:
        document["nextToken"] = next_token
    return document


def render_review_queue(out: Console, items: list[dict[str, Any]], more: bool) -> None:
    if not items:
        out.print("No flagged rewards" + (" on this page; more follow (--all lists them)" if more else ""))
        return
    table = Table(title=f"Flagged rewards: {len(items)} (oldest first)", title_justify="left")
    table.add_column("user", overflow="fold")
    table.add_column("referrer", overflow="fold")
    table.add_column("amount", justify="right")
    table.add_column("signals", no_wrap=True)
    table.add_column("signed up", no_wrap=True)
    table.add_column("qualified", no_wrap=True)
    for item in items:
        table.add_row(
            str(item.get("userId")),
            str(item.get("referrerId")),
            money(item.get("rewardAmount", 0)),
            "\n".join(str(signal) for signal in item.get("signals") or []) or "-",  # one per line: narrow
            str(item.get("signupDate", ""))[:10],  # the date: the table fits 80 columns (--json has the time)
            "yes" if item.get("qualified") else "no",
        )
    out.print(table)
    if more:
        out.print("More flagged rewards follow: `referrals review --all` lists them all")


def reward_json(reward: dict[str, Any]) -> dict[str, Any]:
    return _with_amounts(reward, REWARD_AMOUNTS)


def render_reward(out: Console, action: str, reward: dict[str, Any]) -> None:
    rows = [
        ("user", str(reward.get("userId"))),
        ("referrer", str(reward.get("referrerId"))),
        ("amount", money(reward.get("rewardAmount", 0))),
        ("status", str(reward.get("status"))),
        ("qualified", "yes" if reward.get("qualified") else "no"),
    ]
    if reward.get("payableAt"):
        rows.append(("payable at", str(reward["payableAt"]).replace("T", " ").replace("Z", " UTC")))
    if reward.get("reason"):
        rows.append(("reason", str(reward["reason"])))
    out.print(_key_values(f"{action}: the reward of {reward.get('userId')}", rows))


def backfill_json(summary: BackfillSummary) -> dict[str, int]:
    return summary.as_json()


def render_backfill(out: Console, summary: BackfillSummary) -> None:
    rows = [
        ("profiles with an e-mail", str(summary.scanned)),
        ("keys written", str(summary.written)),
        ("already there", str(summary.already_there)),
        ("taken by another user", str(summary.taken)),
        ("unusable e-mail", str(summary.unusable)),
    ]
    out.print(_key_values("E-mail keys", rows))


@contextmanager
def backfill_progress(out: Console, quiet: bool) -> Iterator[Any]:
    """A callback for each profile: a live count in a terminal, nothing for --json or a pipe."""
    if quiet or not out.is_terminal:
        yield lambda summary: None
        return
    with out.status("scanning profiles") as spinner:
        yield lambda summary: spinner.update(
            f"scanned {summary.scanned} profiles with an e-mail, {summary.written} keys written"
        )


# payouts ------------------------------------------------------------------------------------------


def run_record_json(record: RunRecord, claimed: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payoutId": record.payout_id,
        "payoutMonth": record.month,
        "status": record.status,
        "startedAt": iso_time(record.started_at),
        "completedAt": iso_time(record.completed_at),
        "cutoff": iso_time(None if record.cutoff_ms is None else record.cutoff_ms / 1000),
        "leaseOwner": record.lease_owner,
        "leaseExpiresAt": iso_time(record.lease_expires_at),
        "summary": None if record.summary is None else _with_amounts(record.summary, SUMMARY_AMOUNTS),
    }
    if claimed is not None:
        data["rewardsClaimedSoFar"] = claimed
    return data


def render_run_record(out: Console, record: RunRecord, title: str, claimed: int | None = None) -> None:
    rows = [
        ("payout", record.payout_id),
        ("status", record.status),
        ("started", _shown_time(record.started_at)),
        ("cutoff", _shown_time(None if record.cutoff_ms is None else record.cutoff_ms / 1000)),
    ]
    if record.status == "completed":
        rows.append(("completed", _shown_time(record.completed_at)))
    if record.lease_owner:
        rows += [("lease owner", record.lease_owner), ("lease expires", _shown_time(record.lease_expires_at))]
    if claimed is not None:
        rows.append(("claimed so far", str(claimed)))
    if record.summary:
        rows += _summary_rows(record.summary)
    out.print(_key_values(title, rows))


def _summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("rewards paid", str(summary.get("rewardsPaid"))),
        ("referrers", str(summary.get("totalReferrers"))),
        ("total amount", money(summary.get("totalAmount", 0))),
        *(
            (label, money(summary[name]))
            for label, name in (
                ("gross amount", "grossAmount"),
                ("clawed back", "clawedBackAmount"),
                ("carried forward", "carriedForwardAmount"),
            )
            if name in summary
        ),
        *((("clawbacks settled", str(summary["clawbacksSettled"])),) if "clawbacksSettled" in summary else ()),
        ("report", str(summary.get("reportLocation"))),
    ]


def payout_result_json(result: PayoutResult) -> dict[str, Any]:
    return {**_with_amounts(result.answer, SUMMARY_AMOUNTS), "invocations": result.invocations}


def render_payout_result(out: Console, result: PayoutResult) -> None:
    answer = result.answer
    rows = [("status", str(answer.get("status"))), *_summary_rows(answer), ("invocations", str(result.invocations))]
    out.print(_key_values(str(answer.get("message", answer.get("payoutId"))), rows))


@dataclass
class PayoutProgress:
    """Lines for each invocation, a spinner while waiting for a lease; silent for --json."""

    out: Console
    quiet: bool
    spinner: Spinner | None = None

    def say(self, text: str) -> None:
        if not self.quiet:
            self.out.print(text, soft_wrap=True)
        self.waiting(text)

    def waiting(self, text: str) -> None:
        if self.spinner is not None:
            self.spinner.update(text)


@contextmanager
def payout_progress(out: Console, quiet: bool) -> Iterator[PayoutProgress]:
    if quiet or not out.is_terminal:
        yield PayoutProgress(out, quiet)
        return
    with out.status("invoking the payout function") as spinner:
        yield PayoutProgress(out, quiet, spinner)


# the report ---------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    header, *rows = report.rows()
    return {
        "reportLocation": report.location,
        "rows": [dict(zip(header, row, strict=True)) for row in rows],
        "totalAmount": money(report.total()),
    }


def render_report(out: Console, report: Report) -> None:
    header, *rows = report.rows()
    table = Table(title="Payout report", title_justify="left")
    for name in header:
        numeric = name in ("Total Amount", "Referral Count", "Gross Amount", "Clawed Back", "Carried Forward")
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    out.print(_report_caption(report), soft_wrap=True)


def _report_caption(report: Report) -> str:
    referrers = len(report.rows()) - 1
    return f"{referrers} referrer{'' if referrers == 1 else 's'}, {money(report.total())} in all; {report.location}"
