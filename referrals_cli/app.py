"""`referrals`: the operator's command line for a deployed referral system (docs/cli.md).

The commands are thin: check the input, call one module, print a table or JSON. An expected
failure ends the command with one line on stderr and exit status 1.
"""

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from typer.core import TyperGroup

from referrals_cli import formatting
from referrals_cli.aws import api_key_value
from referrals_cli.deployed_code import DeployedCode, signed_request
from referrals_cli.email_keys import backfill, email_key_secret
from referrals_cli.errors import CliError, aws_error_line
from referrals_cli.months import ended_month
from referrals_cli.payouts import PayoutWatch, claimed_count, download_report, read_run, run_payout
from referrals_cli.redrive import all_redriven, redrive, relay_invoker, summary_line
from referrals_cli.referrers import checked_code, recent_referrals, referrer_stats
from referrals_cli.rewards import (
    CALLER_POLICY_OUTPUT,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Action,
    AdminApi,
    checked_reason,
    checked_user_id,
)
from referrals_cli.status import deployment_status
from referrals_cli.target import Target

FAILURE_STATUS = 1


class ReportingGroup(TyperGroup):
    """Turns an expected failure anywhere below it into one line on stderr and exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # Any: the Context class is typer's vendored click's
        try:
            return super().invoke(ctx)
        except CliError as error:
            _fail(str(error))
        except (BotoCoreError, ClientError) as error:
            _fail(aws_error_line(error))


def _fail(line: str) -> NoReturn:
    typer.echo(f"error: {' '.join(line.split())}", err=True)
    raise typer.Exit(FAILURE_STATUS)


app = typer.Typer(
    cls=ReportingGroup,
    name="referrals",
    help="Operate a deployed referral system: status, referrers, reviews, payouts, the event relay's DLQ.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
payout_app = typer.Typer(help="A month's payout: run it, show its run record, fetch its report.", no_args_is_help=True)
events_app = typer.Typer(help="The event relay (the tables' streams to SNS).", no_args_is_help=True)
app.add_typer(payout_app, name="payout")
app.add_typer(events_app, name="events")

JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
UserId = Annotated[
    str, typer.Argument(help="The referred user's id: whose referral's reward it is.", show_default=False)
]
Month = Annotated[
    str, typer.Option("--month", help="The payout month, YYYY-MM; it must have ended.", show_default=False)
]


@app.callback()
def _deployment_options(
    ctx: typer.Context,
    stack_dir: Annotated[
        Path | None,
        typer.Option(
            "--stack-dir",
            help="The synthesized tap-stack whose `terraform output -json` names the deployment "
            "(default: cdktf.out/stacks/tap-stack).",
            show_default=False,
        ),
    ] = None,
    outputs_file: Annotated[
        Path | None,
        typer.Option("--outputs-file", help="A file holding `terraform output -json` of the stack, instead."),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region (default: the region of the stack's ARNs).")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="AWS profile (default: AWS_PROFILE, else the default credential chain)."),
    ] = None,
) -> None:
    # A caller running the CLI in its own process may hand in stand-ins for Lambda and the API.
    override = ctx.obj if isinstance(ctx.obj, DeployedCode) else None
    ctx.obj = Target(stack_dir, outputs_file, region, profile, override)


def _target(ctx: typer.Context) -> Target:
    target = ctx.find_object(Target)
    if target is None:  # only when a command is invoked without the app around it
        raise CliError("internal: no deployment options")
    return target


def _now() -> datetime:
    return datetime.now(UTC)


@app.command()
def status(ctx: typer.Context, json_output: JsonOutput = False) -> None:
    """Outputs, alarms in ALARM, dead-letter queue depths and the last payout run."""
    target = _target(ctx)
    found = deployment_status(target.aws(), target.outputs(), _now())
    if json_output:
        formatting.print_json(formatting.status_json(found))
    else:
        formatting.render_status(formatting.console(), found)


@app.command()
def referrer(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The referral code (the referrer's user id).", show_default=False)],
    recent: Annotated[int, typer.Option("--recent", min=0, max=1000, help="How many latest referrals to list.")] = 10,
    json_output: JsonOutput = False,
) -> None:
    """A referrer's statistics (GET /referrers/{code} with the stack's API key) and latest referrals."""
    checked_code(code)
    target = _target(ctx)
    outputs, aws = target.outputs(), target.aws()
    key = api_key_value(aws, outputs["api-key-id"])
    stats = referrer_stats(target.code().get, outputs["api-endpoint"], key, code)
    referrals = recent_referrals(aws.client("dynamodb"), outputs["referral-table-name"], code, recent)
    if json_output:
        formatting.print_json(formatting.referrer_json(stats, referrals))
    else:
        formatting.render_referrer(formatting.console(), stats, referrals)


def _admin_api(target: Target) -> AdminApi:
    outputs = target.outputs()
    policy = outputs.values.get(CALLER_POLICY_OUTPUT)
    api = signed_request(target.aws(), target.code().signed)
    return AdminApi(api, outputs["api-endpoint"], policy if isinstance(policy, str) else None)


@app.command()
def review(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_PAGE_SIZE, help="Flagged rewards per page (the API's limit).")
    ] = DEFAULT_PAGE_SIZE,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow nextToken through every page.")] = False,
    json_output: JsonOutput = False,
) -> None:
    """The review queue: flagged rewards, oldest first (GET /referrals?status=flagged, signed)."""
    api = _admin_api(_target(ctx))
    pages = api.queue_pages(limit) if all_pages else iter([api.queue_page(limit)])
    items, next_token = [], None
    for page in pages:
        items += page.items
        next_token = page.next_token
    if json_output:
        formatting.print_json(formatting.queued_json(items, next_token))
    else:
        formatting.render_review_queue(formatting.console(), items, more=next_token is not None)


def _act(ctx: typer.Context, user_id: str, action: Action, reason: str | None, json_output: bool) -> None:
    checked_user_id(user_id)
    reward = _admin_api(_target(ctx)).act(user_id, action, reason)
    if json_output:
        formatting.print_json(formatting.reward_json(reward))
    else:
        formatting.render_reward(formatting.console(), action.value, reward)


@app.command()
def qualify(ctx: typer.Context, user_id: UserId, json_output: JsonOutput = False) -> None:
    """Record the referee's qualifying action: a waiting reward becomes payable (after the hold).

    Safe to repeat: a reward already qualified answers as it is."""
    _act(ctx, user_id, Action.QUALIFY, None, json_output)


@app.command()
def approve(ctx: typer.Context, user_id: UserId, json_output: JsonOutput = False) -> None:
    """Clear a flagged reward after review: payable if qualified, else waiting for qualification.

    Safe to repeat: an unflagged reward needs no review and answers as it is."""
    _act(ctx, user_id, Action.APPROVE, None, json_output)


@app.command()
def reverse(
    ctx: typer.Context,
    user_id: UserId,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (1-500 characters); kept with the reward.", show_default=False)
    ],
    json_output: JsonOutput = False,
) -> None:
    """Reverse a reward: voided if not yet paid; if paid, clawed back from the referrer's next payouts.

    Safe to repeat: a reward already reversed answers as it is, with its first reason."""
    checked_reason(reason)
    _act(ctx, user_id, Action.REVERSE, reason, json_output)


@app.command("backfill-email-keys")
def backfill_email_keys(ctx: typer.Context, json_output: JsonOutput = False) -> None:
    """Give every existing profile its e-mail key, for the shared-e-mail review signal.

    Idempotent: a second run writes nothing; a key another user holds is counted, not changed."""
    target = _target(ctx)
    outputs, aws = target.outputs(), target.aws()
    secret = email_key_secret(aws.client("kms"), outputs["review-email-key-arn"])
    out = formatting.console()
    with formatting.backfill_progress(out, quiet=json_output) as progress:
        summary = backfill(aws.client("dynamodb"), outputs["referral-table-name"], secret, progress)
    if json_output:
        formatting.print_json(formatting.backfill_json(summary))
    else:
        formatting.render_backfill(out, summary)


@payout_app.command("run")
def payout_run(ctx: typer.Context, month: Month, json_output: JsonOutput = False) -> None:
    """Pay a month: invoke the payout function until the payout is complete, then print its summary.

    Safe to repeat: a completed month answers with its stored summary, an interrupted one resumes."""
    month = ended_month(month, _now())
    target = _target(ctx)
    outputs, dynamodb = target.outputs(), target.aws().client("dynamodb")
    out = formatting.console()
    with formatting.payout_progress(out, quiet=json_output) as progress:
        watch = PayoutWatch(
            read_record=lambda: read_run(dynamodb, outputs["idempotency-table-name"], month),
            claimed=lambda: claimed_count(dynamodb, outputs["referral-table-name"], month),
            say=progress.say,
            waiting=progress.waiting,
        )
        result = run_payout(month, outputs["payout-lambda-name"], target.code().invoke, watch)
    if json_output:
        formatting.print_json(formatting.payout_result_json(result))
    else:
        formatting.render_payout_result(out, result)


@payout_app.command("show")
def payout_show(ctx: typer.Context, month: Month, json_output: JsonOutput = False) -> None:
    """The month's run record: status, cutoff, lease, summary; rewards claimed so far while it runs."""
    month = ended_month(month, _now())
    target = _target(ctx)
    outputs, dynamodb = target.outputs(), target.aws().client("dynamodb")
    record = read_run(dynamodb, outputs["idempotency-table-name"], month)
    if record is None:
        raise CliError(f"no payout run for {month}: none has started (start one: referrals payout run --month {month})")
    claimed = None if record.status == "completed" else claimed_count(dynamodb, outputs["referral-table-name"], month)
    if json_output:
        formatting.print_json(formatting.run_record_json(record, claimed))
    else:
        formatting.render_run_record(formatting.console(), record, "Payout run", claimed)


@payout_app.command("report")
def payout_report(
    ctx: typer.Context,
    month: Month,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV to this file, byte for byte, instead.")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """The month's payout report (payouts/YYYY-MM/payout-report.csv in the reports bucket)."""
    month = ended_month(month, _now())
    target = _target(ctx)
    report = download_report(target.aws().client("s3"), target.outputs()["s3-bucket"], month)
    if output is not None:
        _write(output, report.body)
        written = {"reportLocation": report.location, "file": str(output), "bytes": len(report.body)}
        if json_output:
            formatting.print_json(written)
        else:
            typer.echo(f"wrote {report.location} to {output} ({len(report.body)} bytes)")
    elif json_output:
        formatting.print_json(formatting.report_json(report))
    else:
        formatting.render_report(formatting.console(), report)


def _write(path: Path, body: bytes) -> None:
    try:
        path.write_bytes(body)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from error


@events_app.command("redrive")
def events_redrive(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read the records; invoke and delete nothing.")] = False,
    json_output: JsonOutput = False,
) -> None:
    """Send the batches in the relay's DLQ back through the relay, from the tables' streams.

    Deletes a message only when the relay relayed every record; exit status 1 when any stays."""
    target = _target(ctx)
    outputs, aws = target.outputs(), target.aws()
    outcomes = redrive(
        outputs["relay-dlq-url"],
        outputs["event-relay-lambda-name"],
        sqs=aws.client("sqs"),
        streams=aws.client("dynamodbstreams"),
        invoke=relay_invoker(target.code().invoke),
        dry_run=dry_run,
        say=(lambda line: None) if json_output else typer.echo,
    )
    if json_output:
        messages = [{"messageId": o.message_id, "status": o.status, "detail": o.detail} for o in outcomes]
        deleted = sum(outcome.deleted for outcome in outcomes)
        formatting.print_json({"messages": messages, "redriven": deleted, "kept": len(outcomes) - deleted})
    else:
        typer.echo(summary_line(outcomes))
    if not all_redriven(outcomes):
        raise typer.Exit(FAILURE_STATUS)


def run(argv: list[str], code: DeployedCode | None = None) -> int:
    """`referrals ARGV` in this process (the demo's operator steps); its exit status."""
    try:
        app(args=argv, prog_name="referrals", obj=code)
    except SystemExit as stopped:
        return stopped.code if isinstance(stopped.code, int) else FAILURE_STATUS if stopped.code else 0
    return 0


def main() -> None:
    """The console script `referrals` (pyproject.toml)."""
    app(args=sys.argv[1:], prog_name="referrals")
