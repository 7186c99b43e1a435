#!/usr/bin/env python
"""`make demo`: the whole system on this machine, no AWS account and no Docker.

Starts moto_server, deploys the Terraform that main.py synthesizes (LOCAL_AWS_ENDPOINT pointing the
provider at the emulator; tap-account, then tap-stack), drives it through the deployed API,
schedule and event source mappings (tools/referral_flow.py), prints what the event relay published
to the reward topic and a summary, runs the operator's steps with the `referrals` CLI (status, the
payout, its report, a referrer's statistics; then the reward lifecycle: a flagged signup reviewed
and approved, a reward reversed before payment and one clawed back after it, the e-mail key
backfill, and next month's payout netting the clawback, with this process's clock moved on by
time-machine), destroys everything (tap-stack, then tap-account)
and stops the emulator. The emulator is stopped and the temporary directory removed however it
ends; any failure exits non-zero.

The emulator cannot run function code, so the CLI runs here with stand-ins for Lambda's Invoke
and the API (`local_deployed_code`, shared with tests/e2e) that run the deployed handlers in this
process, as the rest of the demo does.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext, redirect_stdout
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import time_machine

if __package__ in (None, ""):
    # Run as `python tools/demo.py`: make the project importable, as `python -m tools.demo` would.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from referrals_cli.app import run as run_cli
from referrals_cli.deployed_code import ApiAnswer, DeployedCode, FunctionAnswer
from tools.local_lambda import LocalApi, deployed_function, deployed_routes, emulator_settings, running_function
from tools.local_notifications import Notification
from tools.local_sigv4 import sigv4_refusal
from tools.local_stack import (
    FAKE_ACCESS_KEY,
    REGION,
    LocalDeployment,
    StepFailed,
    deploy,
    running_emulator,
    tail,
    tear_down,
)
from tools.referral_flow import (
    REFERRALS,
    Exchange,
    FlowResult,
    PayoutResults,
    RelayResults,
    RelayRun,
    SignupResults,
    friend_of,
    run_flow,
)

INTERRUPTED_STATUS = 130


class StopRequested(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so the emulator is stopped and the directory removed."""


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


class Progress:
    """One line per phase start and end, stamped with the time since the demo started."""

    def __init__(self, out: TextIO) -> None:
        self.out = out  # kept: handler logs are redirected away from stdout while they run
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=self.out, flush=True)

    @contextmanager
    def phase(self, name: str, what: str) -> Iterator[None]:
        self.say(f"{name:<9} {what}")
        began = time.monotonic()
        try:
            yield
        except BaseException:
            self.say(f"{'':<9} FAILED after {time.monotonic() - began:.1f} s")
            raise
        self.say(f"{'':<9} done in {time.monotonic() - began:.1f} s")

    def terraform_counter(self, verb: str) -> "TerraformCounter":
        return TerraformCounter(self, verb)


class TerraformCounter:
    """Turns Terraform's output into an occasional 'N of M resources created' line."""

    QUIET_SECONDS = 10

    def __init__(self, progress: Progress, verb: str) -> None:
        self.progress, self.verb = progress, verb
        self.total, self.done, self.last_said = "?", 0, time.monotonic()

    def __call__(self, line: str) -> None:
        if line.startswith("Plan: "):  # "Plan: 79 to add, 0 to change, 0 to destroy."
            numbers = [word for word in line.replace(",", " ").split() if word.isdigit()]
            self.total = numbers[0] if self.verb == "created" else numbers[-1]
            self.progress.say(f"{'':<9} planned: {self.total} resources to be {self.verb}")
            self.last_said = time.monotonic()
        elif "Creation complete" in line or "Destruction complete" in line:
            self.done += 1
            if time.monotonic() - self.last_said >= self.QUIET_SECONDS:
                self.progress.say(f"{'':<9} {self.done} of {self.total} resources {self.verb}")
                self.last_said = time.monotonic()


def main() -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_requested)
    progress = Progress(sys.stdout)
    workdir = Path(tempfile.mkdtemp(prefix="referral-demo-"))
    progress.say(f"referral management on a local AWS emulator; scratch directory {workdir}")
    try:
        run_demo(workdir, progress)
    except StepFailed as error:
        progress.say(f"error: {error}")
        return 1
    except (KeyboardInterrupt, StopRequested):
        progress.say("interrupted")
        return INTERRUPTED_STATUS
    except Exception:
        progress.say(f"error:\n{traceback.format_exc()}")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        progress.say(f"emulator stopped, {workdir} removed")
    progress.say("demo finished")
    return 0


def run_demo(workdir: Path, progress: Progress) -> None:
    with ExitStack() as cleanup:
        with progress.phase("emulator", "moto_server on 127.0.0.1, on a free port"):
            emulator = cleanup.enter_context(running_emulator(workdir / "moto.log"))
        progress.say(f"{'':<9} {emulator.endpoint}")
        deployment = deploy(emulator, workdir, progress.phase, progress.terraform_counter("created"))
        with _handler_log(workdir / "handlers.log", progress) as log:
            result = _drive(deployment, log, progress)
            show(result, progress.out)
            _operate(deployment, result.payout.answer["payoutMonth"], log, progress)
        tear_down(deployment, progress.phase, progress.terraform_counter("destroyed"))
        left = {stack.stack: stack.state_addresses() for stack in deployment.stacks()}
        if any(left.values()):
            raise StepFailed(f"terraform state still lists resources after destroy: {left}")
        progress.say(f"{'':<9} terraform state list: empty ({', '.join(left)})")


@contextmanager
def _handler_log(path: Path, progress: Progress) -> Iterator[TextIO]:
    """One file for the handlers' JSON logs and metrics while the flow and the operator's steps
    run: a handler's logger keeps writing to the stream it was first given. Its last lines are
    shown when a step fails."""
    with path.open("w") as log:
        try:
            yield log
        except BaseException:
            log.flush()
            progress.say("no destroy: the emulator is discarded with everything deployed to it")
            progress.say(f"last lines the handlers logged:\n{tail(path, 15)}")
            raise


def _drive(deployment: LocalDeployment, log: TextIO, progress: Progress) -> FlowResult:
    """The flow, with the handlers' logs in `log` instead of on the screen."""
    with redirect_stdout(log):
        return run_flow(deployment, progress.phase)


# What the demo shows ----------------------------------------------------------------------------


def show(result: FlowResult, out: TextIO) -> None:
    sections = [
        _signup_section(result.signups),
        _payout_section(result.payout),
        _notifications_section(result.relay),
        _summary_section(result),
    ]
    print(*sections, sep="\n", file=out)


def _signup_section(results: SignupResults) -> str:
    lines = ["", "Sign-ups (POST /signup, delivered to the function behind the API's route)"]
    lines += [f"  {e.answer.status}  {_signup_text(e)}" for e in results.enrolments + results.signups]
    lines += ["", "Refused requests"]
    lines += [f"  {e.answer.status}  {_request_text(e):<40} {e.answer.body.get('error')}" for e in results.refusals]
    lines += ["", "Referrer statistics before the payout (GET /referrers/{code})"]
    lines += [f"  {e.answer.status}  {_stats_text(e.answer.body)}" for e in results.stats]
    return "\n".join(lines)


def _payout_section(payout: PayoutResults) -> str:
    answer, event, check = payout.answer, payout.event, payout.deadline_check
    lines = [
        "",
        f"Payout, started with the schedule's input: {event}",
        f"  Scheduler's run at {event['scheduledTime']} pays month {answer['payoutMonth']} (the month before it),"
        " with every reward created before that time",
        f"  {answer['status']}: {answer['rewardsPaid']} rewards to {answer['totalReferrers']} referrers, "
        f"{answer['totalAmount']} in all",
        f"  the same event again: {payout.repeat['status']} (nothing is paid twice)",
        f"  the deadline check's schedule input: payout {check['status']}, deadline missed: {check['deadlineMissed']}",
        f"  report {answer['reportLocation']} (the operator's steps below print it)",
    ]
    return "\n".join(lines)


def _notifications_section(relay: RelayResults) -> str:
    sizes = "/".join(sorted({str(size) for size in relay.batch_sizes}))
    lines = [
        "",
        "Notifications (SNS → SQS, published by the event relay from the table streams)",
        f"  relay after the signups: {_relay_text(relay.after_signups)}",
        f"  relay after the payout:  {_relay_text(relay.after_payout)}",
        f"  (batches of up to {sizes} records, the mappings' BatchSize; Lambda would retry from a reported failure)",
    ]
    width = max((len(n.body.get("eventId", "")) for n in relay.notifications), default=0)
    lines += [
        f"  {n.event_type:<17}  {n.body.get('eventId', ''):<{width}}  {_notification_text(n)}"
        for n in relay.notifications
    ]
    topics = sorted({n.topic_arn.rsplit(":", 1)[-1] for n in relay.notifications})
    lines.append(
        f"  {len(relay.notifications)} messages from topic {', '.join(topics) or '(none)'}, "
        "each in SNS's envelope with its event_type message attribute (raw delivery off)"
    )
    return "\n".join(lines)


def _relay_text(run: RelayRun) -> str:
    per_table = ", ".join(f"{count} from {table}" for table, count in run.records.items())
    failures = f"{run.failed} reported failed records" if run.failed else "no failed record"
    return f"stream records {per_table}: {_count(len(run.invocations), 'invocation')}, {failures}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _notification_text(notification: Notification) -> str:
    body = notification.body
    if notification.event_type == "referral.rewarded":
        return (
            f"{body['userId']:<16} -> {body['referrerId']:<6} referral #{body['referralCount']:<3} "
            f"reward {_money(body['rewardAmount'])}"
        )
    if notification.event_type == "payout.completed":
        return (
            f"{body['payoutId']}: {body['totalReferrers']} referrers, {_money(body['totalAmount'])} in all, "
            f"report {body['reportLocation']}"
        )
    return str(body)


def _signup_text(exchange: Exchange) -> str:
    body, answer = exchange.body, exchange.answer.body
    assert isinstance(body, dict)  # noqa: S101 - sign-ups are sent as JSON objects
    if "referralCode" not in body:
        return f"{body['userId']} enrolled, referral code {answer.get('referralCode')}"
    return (
        f"{body['userId']:<16} -> {body['referralCode']:<6} referral #{answer.get('referralCount'):<3} "
        f"reward {_money(answer.get('rewardAmount'))}"
    )


def _stats_text(stats: dict[str, Any]) -> str:
    return (
        f"{stats['referralCode']}: {stats['referralCount']} referrals, earned {_money(stats['totalRewards'])}, "
        f"pending {_money(stats['pendingAmount'])}, paid {_money(stats['paidAmount'])}"
    )


def _request_text(exchange: Exchange) -> str:
    body = exchange.body
    if isinstance(body, str):
        return f"body {body!r}"
    return f"{body.get('userId')} -> {body.get('referralCode')}" if body else exchange.path


def _summary_section(result: FlowResult) -> str:
    header = ("referrer", "referrals", "earned", "paid", "pending", "report row")
    report = {row[0]: ",".join(row) for row in result.payout.report_rows()[1:]}
    rows = [header]
    for exchange in result.stats_after:
        stats = exchange.answer.body
        code = stats["referralCode"]
        earned, paid, pending = (_money(stats[name]) for name in ("totalRewards", "paidAmount", "pendingAmount"))
        rows.append((code, str(stats["referralCount"]), earned, paid, pending, report.get(code, "(none)")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    table = [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(["", "Summary", *table, ""])


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


# The operator's steps: the referrals CLI --------------------------------------------------------


# The reward lifecycle's story, told by the operator (docs/lifecycle-design.md): a signup with the
# referrer's own mailbox is flagged and approved after review; an honest one is reversed before it
# is paid (voided); a reward the flow's payout paid is reversed after payment (clawed back).
FLAGGED_SIGNUP = {"userId": "alice-second-account", "referralCode": "alice", "email": "Alice+promo@example.com"}
REFUNDED_SIGNUP = {"userId": "bob-friend-refunded", "referralCode": "bob", "email": "refunded@example.com"}
CHARGED_BACK = friend_of("alice", 12)  # paid by the flow's payout


def _operate(deployment: LocalDeployment, month: str, log: TextIO, progress: Progress) -> None:
    """`referrals` as an operator would run it after the payout, on the deployment's Terraform outputs."""
    commands = [
        ["status"],
        ["payout", "run", "--month", month],  # already paid by the schedule: the stored summary
        ["payout", "report", "--month", month],
        *(["referrer", code] for code in REFERRALS),
    ]
    flagged, refunded = FLAGGED_SIGNUP["userId"], REFUNDED_SIGNUP["userId"]
    lifecycle = [
        ["review"],  # the flagged signup, with its signal
        ["approve", flagged],
        ["reverse", refunded, "--reason", "refunded order 4411"],  # before payment: voided
        ["approve", refunded],  # refused (409): a reversed reward stays reversed; exit status 1
        ["reverse", CHARGED_BACK, "--reason", "chargeback"],  # after payment: a clawback for alice's next payouts
        ["referrer", "alice"],  # the open clawback, the approved reward payable, the clawed-back referral
        ["backfill-email-keys"],
    ]
    print("\nOperator steps: the referrals CLI (docs/cli.md), run in this process", file=progress.out)
    with (
        progress.phase("operator", "referrals status, payout run, payout report, referrer"),
        cli_environment(deployment.endpoint),
    ):
        code = local_deployed_code(deployment, handler_log=log)
        for command in commands:
            _run_operator_step(deployment, command, code, progress)
    with (
        progress.phase("lifecycle", "a flagged signup approved, a reward reversed before and one after payment"),
        cli_environment(deployment.endpoint),
    ):
        _sign_up_for_the_lifecycle(deployment, log, progress)
        code = local_deployed_code(deployment, handler_log=log)
        for command in lifecycle:
            _run_operator_step(deployment, command, code, progress, refused=command == ["approve", refunded])
    _next_month(deployment, log, progress)


def _next_month(deployment: LocalDeployment, log: TextIO, progress: Progress) -> None:
    """The payout of this month, as the schedule will run it at 02:00 UTC on the 1st of the next.

    A payout pays only a month that has ended, so time-machine moves this process's clock (the
    handlers and the CLI run here) to that moment. It pays the reward approved above, nets the
    clawback of the reward reversed after payment, and never pays the one voided before it.
    """
    today = datetime.now(UTC)
    month = f"{today.year:04d}-{today.month:02d}"
    moment = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, 2, tzinfo=UTC)
    commands = [["payout", "run", "--month", month], ["payout", "report", "--month", month], ["referrer", "alice"]]
    with (
        progress.phase("netting", f"the payout of {month}, this process's clock at {moment:%Y-%m-%d %H:%M} UTC"),
        cli_environment(deployment.endpoint),
        time_machine.travel(moment, tick=True),
    ):
        code = local_deployed_code(deployment, handler_log=log)
        for command in commands:
            _run_operator_step(deployment, command, code, progress)


def _run_operator_step(
    deployment: LocalDeployment, command: list[str], code: DeployedCode, progress: Progress, refused: bool = False
) -> None:
    print(f"\n$ referrals {' '.join(command)}", file=progress.out, flush=True)
    status = run_cli(["--stack-dir", str(deployment.terraform.stack_dir), *command], code)
    if status != (1 if refused else 0):
        expected = "the refusal's status 1" if refused else "status 0"
        raise StepFailed(f"referrals {' '.join(command)} exited with status {status}, not {expected}")


def _sign_up_for_the_lifecycle(deployment: LocalDeployment, log: TextIO, progress: Progress) -> None:
    """Two more signups through the deployed API: one the review signals flag, one they do not."""
    reward = deployed_function(deployment, deployment.outputs["reward-calc-lambda-name"])
    api_id, stage = deployment.outputs["api-gateway-id"], deployment.outputs["api-endpoint"].rstrip("/").rsplit("/")[-1]
    with redirect_stdout(log), running_function(reward, deployment.endpoint) as handler:
        api = LocalApi(api_id, stage, deployed_routes(deployment, api_id), {reward.name: handler})
        answers = [(body, api.post("/signup", body)) for body in (FLAGGED_SIGNUP, REFUNDED_SIGNUP)]
    for body, answer in answers:
        if answer.status != 200:
            raise StepFailed(f"POST /signup {body['userId']} answered {answer.status}: {answer.body}")
        print(
            f"  POST /signup {body['userId']} -> {body['referralCode']}: {answer.status}, "
            f"reward {_money(answer.body.get('rewardAmount'))}",
            file=progress.out,
        )


@contextmanager
def cli_environment(endpoint: str) -> Iterator[None]:
    """os.environ holds no AWS_ variable but the emulator's settings while the block lasts."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(emulator_settings(endpoint))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def local_deployed_code(deployment: LocalDeployment, handler_log: TextIO | None = None) -> DeployedCode:
    """The CLI's Lambda Invoke and API calls on the emulator, which stores functions but cannot run them.

    An invocation runs the deployed function's handler in this process with the function's
    environment (tools/local_lambda.py) and answers as Lambda does: the return value as JSON, or
    FunctionError "Unhandled" with errorType and errorMessage when the handler raised. An API
    request carrying the stack's API key (API Gateway refuses others with 403) goes to the function
    behind its route. A signed request (the admin routes) goes there only with a valid SigV4
    signature (tools/local_sigv4.py), and with the signer's ARN as API Gateway would pass it; which
    policies allow the caller is not checked (moto evaluates no IAM). The handlers' logs go to
    `handler_log` when given.
    """
    api_id, api_endpoint = deployment.outputs["api-gateway-id"], deployment.outputs["api-endpoint"].rstrip("/")
    stage = api_endpoint.rsplit("/", 1)[-1]
    key = deployment.client("apigateway").get_api_key(apiKey=deployment.outputs["api-key-id"], includeValue=True)

    def handler_logs() -> AbstractContextManager[object]:
        return redirect_stdout(handler_log) if handler_log is not None else nullcontext()

    def invoke(function_name: str, event: dict[str, Any]) -> FunctionAnswer:
        function = deployed_function(deployment, function_name)
        with handler_logs(), running_function(function, deployment.endpoint) as handler:
            try:
                result = handler(event)
            except Exception as error:  # what Lambda's runtime answers for a raised exception
                return FunctionAnswer({"errorType": type(error).__name__, "errorMessage": str(error)}, "Unhandled")
        # The runtime encodes the return value as JSON (a Decimal as a number).
        return FunctionAnswer(json.loads(json.dumps(result, default=float), parse_float=Decimal))

    def routed(method: str, url: str, body: str | None, caller_arn: str | None = None) -> ApiAnswer:
        routes = deployed_routes(deployment, api_id)

        def run(function_name: str, event: dict[str, Any]) -> Any:
            # Only the function behind the route, in its own environment: two functions' handlers
            # at once would share one os.environ.
            with running_function(deployed_function(deployment, function_name), deployment.endpoint) as handler:
                return handler(event)

        handlers = {name: partial(run, name) for name in {route.function_name for route in routes}}
        with handler_logs():
            answer = LocalApi(api_id, stage, routes, handlers).request(
                method, url.removeprefix(api_endpoint), body, caller_arn
            )
        return ApiAnswer(answer.status, answer.body)

    def get(url: str, headers: Mapping[str, str]) -> ApiAnswer:
        if headers.get("x-api-key") != key["value"]:
            return ApiAnswer(403, {"message": "Forbidden"})
        return routed("GET", url, None)

    def signed(method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> ApiAnswer:
        refusal = sigv4_refusal(method, url, data, headers, secret_key=FAKE_ACCESS_KEY, region=REGION)
        if refusal is not None:
            return ApiAnswer(403, {"message": refusal})
        caller = deployment.client("sts").get_caller_identity()["Arn"]
        return routed(method, url, None if data is None else data.decode("utf-8"), caller)

    return DeployedCode(invoke=invoke, get=get, signed=signed)


if __name__ == "__main__":
    sys.exit(main())
