"""The `referrals` CLI against the local deployment, after the flow (conftest.py: shared deployment).

The CLI finds the deployment from its Terraform outputs and talks to the emulator through boto3
(AWS_ENDPOINT_URL). Lambda's Invoke and the API are the stand-ins `make demo` uses
(tools/demo.py, local_deployed_code): the emulator cannot run function code, so the deployed
handlers run in this process. Nothing here changes what tests/e2e/test_local_deployment.py reads:
no referral item is added and the flow's results are already taken.
"""

import io
import json
import os
import shutil
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from referrals_cli.app import app
from referrals_cli.deployed_code import ApiAnswer, DeployedCode, FunctionAnswer
from referrals_cli.months import months_before
from referrals_cli.redrive import shard_records
from tools.demo import local_deployed_code
from tools.local_lambda import emulator_settings
from tools.local_stack import LOCAL_SUFFIX, LocalDeployment
from tools.referral_flow import REFERRALS, FlowResult, friend_of

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")


class Cli:
    """`referrals --outputs-file F ...` in this process, on the emulator, recording what reached the code."""

    def __init__(self, deployment: LocalDeployment, outputs_file: Path) -> None:
        self.deployment, self.outputs_file = deployment, outputs_file
        self.invoked: list[tuple[str, dict[str, Any]]] = []
        self.requested: list[tuple[str, dict[str, str]]] = []
        self.signed: list[tuple[str, str, bytes | None]] = []  # (method, url, body) of each signed request
        local = local_deployed_code(deployment, handler_log=io.StringIO())
        self.code = DeployedCode(
            invoke=self._recorded(local.invoke), get=self._requested(local.get), signed=self._signed(local.signed)
        )
        # As in the demo: no AWS_ setting of this shell, the emulator's instead.
        self.environment: dict[str, str | None] = {name: None for name in os.environ if name.startswith("AWS_")}
        self.environment |= emulator_settings(deployment.endpoint)

    def __call__(self, *args: str, stack_dir: bool = False) -> Result:
        where = ["--stack-dir", str(self.deployment.terraform.stack_dir)] if stack_dir else []
        where = where or ["--outputs-file", str(self.outputs_file)]
        return CliRunner().invoke(app, [*where, *args], obj=self.code, env=self.environment)

    def _recorded(self, invoke: Any) -> Any:
        def recorded(function: str, event: dict[str, Any]) -> FunctionAnswer:
            self.invoked.append((function, event))
            answer: FunctionAnswer = invoke(function, event)
            return answer

        return recorded

    def _signed(self, send: Any) -> Any:
        def signed(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> ApiAnswer:
            self.signed.append((method, url, data))
            answer: ApiAnswer = send(method, url, data, headers)
            return answer

        return signed

    def _requested(self, get: Any) -> Any:
        def requested(url: str, headers: dict[str, str]) -> ApiAnswer:
            self.requested.append((url, dict(headers)))
            answer: ApiAnswer = get(url, headers)
            return answer

        return requested


@pytest.fixture
def cli(deployment: LocalDeployment, flow: FlowResult, tmp_path: Path) -> Cli:
    """After the flow: its signups and its payout are in the emulator."""
    outputs = {
        name: {"sensitive": False, "type": "string", "value": value} for name, value in deployment.outputs.items()
    }
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    return Cli(deployment, outputs_file)


def succeeded(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_lists_alarms_in_alarm_dead_letter_depths_and_the_last_payout_run(
    cli: Cli, deployment: LocalDeployment, flow: FlowResult
) -> None:
    cloudwatch, sqs = deployment.client("cloudwatch"), deployment.client("sqs")
    alarm = f"payout-processing-{LOCAL_SUFFIX}-errors"
    schedule_dlq = deployment.outputs["schedule-dlq-url"]
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="e2e: the CLI lists it")
    sqs.send_message(QueueUrl=schedule_dlq, MessageBody="{}")
    try:
        status = succeeded(cli("status", "--json", stack_dir=True))  # terraform output in the stack directory
        shown = cli("status")
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="e2e: back to normal")
        sqs.purge_queue(QueueUrl=schedule_dlq)

    assert status["region"] == "us-east-1"
    assert status["outputs"]["payout-lambda-name"] == deployment.outputs["payout-lambda-name"]
    assert [a["name"] for a in status["alarmsInAlarm"]] == [alarm]  # the stack's other alarms are OK
    depths = {queue["output"]: queue["approximateMessages"] for queue in status["deadLetterQueues"]}
    assert depths == {"dlq-url": 0, "schedule-dlq-url": 1, "relay-dlq-url": 0}
    answer = flow.payout.answer
    last = status["lastPayoutRun"]
    assert (last["payoutId"], last["status"]) == (answer["payoutId"], "completed")
    assert last["summary"]["totalAmount"] == answer["totalAmount"]
    assert last["summary"]["rewardsPaid"] == answer["rewardsPaid"]
    assert shown.exit_code == 0
    assert alarm in shown.stdout
    assert answer["payoutId"] in shown.stdout


def test_referrer_shows_the_apis_statistics_and_the_latest_referrals(cli: Cli, flow: FlowResult) -> None:
    shown = succeeded(cli("referrer", "alice", "--recent", "3", "--json"))

    [after] = [e.answer.body for e in flow.stats_after if e.answer.body["referralCode"] == "alice"]
    recent = shown.pop("recentReferrals")
    assert shown == {
        "referralCode": "alice",
        "referralCount": REFERRALS["alice"],
        **{name: f"{after[name]:.2f}" for name in ("totalRewards", "pendingAmount", "paidAmount")},
        # The lifecycle's amounts: everything the flow earned was paid.
        **dict.fromkeys(
            ("waitingAmount", "flaggedAmount", "payableAmount", "reversedAmount", "openClawbackAmount"), "0.00"
        ),
    }
    assert [r["userId"] for r in recent] == [friend_of("alice", n) for n in (12, 11, 10)]
    assert {(r["status"], r["payoutId"], r["rewardAmount"]) for r in recent} == {
        ("paid", flow.payout.answer["payoutId"], "20.00")
    }
    [(url, headers)] = cli.requested
    assert url == f"{cli.deployment.outputs['api-endpoint']}/referrers/alice"
    assert headers["x-api-key"]  # the stack's key: the stand-in answers 403 to any other


def test_an_unknown_referral_code_is_one_line_and_exit_status_1(cli: Cli) -> None:
    result = cli("referrer", "nobody")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: unknown referral code 'nobody': the API answered 404 (referrer 'nobody' does not exist)\n"
    )


def test_running_a_paid_months_payout_again_returns_its_stored_summary(cli: Cli, flow: FlowResult) -> None:
    answer = flow.payout.answer
    month = answer["payoutMonth"]

    again = succeeded(cli("payout", "run", "--month", month, "--json"))

    assert again == {
        **answer,
        "status": "already_completed",
        "message": f"Payout payout-{month} was already completed; returning its stored summary",
        "invocations": 1,
    }
    assert cli.invoked == [(cli.deployment.outputs["payout-lambda-name"], {"payoutMonth": month})]


def test_a_payout_run_pays_an_ended_month_and_show_reads_its_record(cli: Cli) -> None:
    month = months_before(datetime.now(UTC), 6)[-1]  # long before the flow's signups: nothing to pay

    paid = succeeded(cli("payout", "run", "--month", month, "--json"))
    record = succeeded(cli("payout", "show", "--month", month, "--json"))
    report = succeeded(cli("payout", "report", "--month", month, "--json"))

    assert (paid["status"], paid["rewardsPaid"], paid["totalAmount"]) == ("completed", 0, "0.00")
    assert record["status"] == "completed"
    assert record["summary"] == {key: paid[key] for key in record["summary"]}
    next_month = months_before(datetime.now(UTC), 5)[-1]
    assert record["cutoff"] == f"{next_month}-01T00:00:00Z"  # a manual run pays up to the month's end
    assert report["rows"] == []


def test_the_payout_report_is_printed_and_written_byte_for_byte(cli: Cli, flow: FlowResult, tmp_path: Path) -> None:
    month = flow.payout.answer["payoutMonth"]
    saved = tmp_path / "report.csv"

    shown = cli("payout", "report", "--month", month)
    written = cli("payout", "report", "--month", month, "-o", str(saved))

    assert shown.exit_code == 0
    for code, count in REFERRALS.items():
        assert f"│ {code} " in shown.stdout
        assert f"{count} │" in shown.stdout
    assert written.exit_code == 0
    assert saved.read_bytes() == flow.payout.report.encode()
    assert f"({len(saved.read_bytes())} bytes)" in written.stdout


def test_events_redrive_sends_a_batch_back_through_the_relay_and_deletes_its_message(
    cli: Cli, deployment: LocalDeployment
) -> None:
    dynamodb, streams, sqs = (deployment.client(name) for name in ("dynamodb", "dynamodbstreams", "sqs"))
    stream_arn = dynamodb.describe_table(TableName=deployment.outputs["referral-table-name"])["Table"][
        "LatestStreamArn"
    ]
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    position = {"ShardIteratorType": "TRIM_HORIZON"}
    batch = list(islice(shard_records(streams, stream_arn, shard["ShardId"], position), 3))
    sqs.send_message(QueueUrl=deployment.outputs["relay-dlq-url"], MessageBody=gave_up_on(batch, shard["ShardId"]))

    redriven = succeeded(cli("events", "redrive", "--json"))

    [message] = redriven["messages"]
    assert (message["status"], redriven["redriven"], redriven["kept"]) == ("REDRIVEN", 1, 0)
    assert cli.invoked == [(deployment.outputs["event-relay-lambda-name"], {"Records": batch})]
    left = sqs.get_queue_attributes(
        QueueUrl=deployment.outputs["relay-dlq-url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"


def gave_up_on(batch: list[dict[str, Any]], shard_id: str) -> str:
    """Lambda's on-failure record for a stream batch (what the relay's mapping sends its DLQ)."""
    first, last = batch[0], batch[-1]
    return json.dumps(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": "2026-12-01T20:00:00Z",
                "approximateArrivalOfLastRecord": "2026-12-01T20:00:01Z",
                "batchSize": len(batch),
                "streamArn": first["eventSourceARN"],
            },
        }
    )
