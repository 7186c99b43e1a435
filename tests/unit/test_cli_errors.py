"""Every expected failure of `referrals` is one line on stderr and exit status 1, with no traceback."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)
from typer.testing import CliRunner, Result

from referrals_cli import app as cli_app
from referrals_cli.errors import aws_error_line

TOPIC = "arn:aws:sns:eu-west-1:123456789012:reward-notifications-dev"
# No credentials anywhere: no keys, no files, no instance metadata. Should a provider find some
# all the same, the endpoint is a closed local port: nothing ever leaves this machine.
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_WEB_IDENTITY_TOKEN_FILE": None,
    "BOTO_CONFIG": "/dev/null",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def client_error(code: str, message: str, operation: str = "GetItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    names = ("ops-topic-arn", "sns-topic", "idempotency-table-name", "dlq-url", "schedule-dlq-url", "relay-dlq-url")
    values = {name: {"value": TOPIC if "topic" in name else f"x-{name}"} for name in names}
    path.write_text(json.dumps(values | {"alarm-names": {"value": ["x-errors"]}}))
    return path


def referrals(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli_app.app, list(args), env=env or NO_CREDENTIALS)


def one_line_failure(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    return result.stderr.removeprefix("error: ").rstrip("\n")


def test_no_credentials(outputs_file: Path) -> None:
    line = one_line_failure(referrals("--outputs-file", str(outputs_file), "status"))
    assert line.startswith("no AWS credentials: set AWS_PROFILE or pass --profile")


def test_an_unknown_profile(outputs_file: Path) -> None:
    line = one_line_failure(referrals("--outputs-file", str(outputs_file), "--profile", "nosuch", "status"))
    assert line == "The config profile (nosuch) could not be found: check --profile / AWS_PROFILE against ~/.aws/config"


def test_a_stack_that_is_not_synthesized_or_not_deployed(tmp_path: Path) -> None:
    line = one_line_failure(referrals("--stack-dir", str(tmp_path), "status"))
    assert line.startswith(f"no synthesized stack in {tmp_path}: run `make synth`")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    line = one_line_failure(referrals("--outputs-file", str(empty), "status"))
    assert line.startswith("the stack is not deployed")


def test_a_month_that_has_not_ended_is_refused_before_the_deployment_is_looked_up(tmp_path: Path) -> None:
    this_month = datetime.now(UTC).strftime("%Y-%m")
    missing = str(tmp_path / "never-read.json")
    for command in ("run", "show", "report"):
        line = one_line_failure(referrals("--outputs-file", missing, "payout", command, "--month", this_month))
        assert line.startswith(f"month {this_month} has not ended yet")
    assert one_line_failure(referrals("payout", "run", "--month", "2026-13")).startswith("--month must be a month")


def test_a_malformed_referral_code_never_reaches_a_url(tmp_path: Path) -> None:
    line = one_line_failure(referrals("--outputs-file", str(tmp_path / "never-read.json"), "referrer", "a/../b"))
    assert line == "referral code must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-', got 'a/../b'"


def test_access_denied_from_any_aws_call_is_one_line(outputs_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*_: Any) -> None:
        raise client_error(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/ops/me is not authorized to perform: cloudwatch:Describe",
            "DescribeAlarms",
        )

    monkeypatch.setattr(cli_app, "deployment_status", denied)
    env = {**NO_CREDENTIALS, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}
    line = one_line_failure(referrals("--outputs-file", str(outputs_file), "status", env=env))
    assert line.startswith("access denied: DescribeAlarms: User: arn:aws:sts::123456789012:assumed-role/ops/me is not")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (client_error("AccessDenied", "no s3:GetObject", "GetObject"), "access denied: GetObject: no s3:GetObject"),
        (
            client_error("ExpiredTokenException", "The security token is expired"),
            "AWS rejected the credentials (ExpiredTokenException): The security token is expired",
        ),
        (
            client_error("ResourceNotFoundException", "Requested resource not found"),
            "not found: GetItem: Requested resource not found (is the stack deployed in this account and region?)",
        ),
        (client_error("ThrottlingException", "Rate exceeded"), "GetItem failed: ThrottlingException: Rate exceeded"),
        (NoRegionError(), "no AWS region: pass --region or set AWS_REGION"),
        (ProfileNotFound(profile="ops"), "The config profile (ops) could not be found: check --profile / AWS_PROFILE"),
        (
            EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com/"),
            'cannot reach AWS (Could not connect to the endpoint URL: "https://dynamodb.eu-west-1.amazonaws.com/")',
        ),
    ],
)
def test_aws_errors_become_lines_that_say_what_to_do(error: ClientError | BotoCoreError, line: str) -> None:
    assert aws_error_line(error).startswith(line)


def test_a_message_of_several_lines_is_joined_into_one(outputs_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_: Any) -> None:
        raise NoCredentialsError()

    monkeypatch.setattr(cli_app, "deployment_status", failing)
    monkeypatch.setattr(cli_app, "aws_error_line", lambda error: "first\nsecond")
    assert one_line_failure(referrals("--outputs-file", str(outputs_file), "status")) == "first second"


def test_usage_errors_are_clicks_own_with_exit_status_2() -> None:
    result = referrals("payout", "run")
    assert result.exit_code == 2
    assert "Missing option '--month'" in result.stderr
