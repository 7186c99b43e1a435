"""The `referrals` CLI's lifecycle commands against the admin handler on moto, through the same
stand-in chain tests/e2e and the demo use: the CLI signs (SigV4, execute-api), the stand-in checks
the signature as API Gateway would (tools/local_sigv4.py) and delivers the proxy event, with the
signer's ARN, to the handler (tools/local_lambda.py's LocalApi). What the deployment adds (the
routes, the IAM authorization) is tested in tests/e2e/test_cli_lifecycle.py."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from referral_admin import handler as admin
from referrals_cli.app import app
from referrals_cli.deployed_code import ApiAnswer, DeployedCode
from tests.lambdas.admin_api import CALLER, seed
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import LambdaContext, referral_of
from tools.local_lambda import LocalApi, Route
from tools.local_sigv4 import sigv4_refusal

API = "https://abc123.execute-api.us-east-1.amazonaws.com/test"
FUNCTION = "referral-admin-test"
ROUTES = [
    Route("GET", "/referrals", FUNCTION),
    *(Route("POST", f"/referrals/{{userId}}/{action}", FUNCTION) for action in ("qualify", "approve", "reverse")),
]


class SignedStandIn:
    """DeployedCode.signed for the handler in this process: refuses a bad signature with 403."""

    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws
        # The secret the CLI signs with here: moto's mock puts credentials of its own in botocore.
        self.secret_key = boto3.session.Session().get_credentials().secret_key
        context = LambdaContext(function_name=FUNCTION)
        self.api = LocalApi("abc123", "test", ROUTES, {FUNCTION: lambda event: admin.handler(event, context)})

    def __call__(self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> ApiAnswer:
        refusal = sigv4_refusal(method, url, data, headers, secret_key=self.secret_key, region=self.aws.region)
        if refusal is not None:
            return ApiAnswer(403, {"message": refusal})
        # The signer's ARN as API Gateway passes it. A constant: an STS call here would be recorded as
        # one the admin function makes (tests/lambdas/conftest.py records this module's calls).
        answer = self.api.request(method, url.removeprefix(API), None if data is None else data.decode(), CALLER)
        return ApiAnswer(answer.status, answer.body)


@pytest.fixture
def cli(aws: FakeAws, tmp_path: Path) -> Any:
    outputs = {"api-endpoint": API, "sns-topic": aws.topic_arn, "admin-caller-policy-arn": "arn:aws:iam::1:policy/p"}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({name: {"value": value} for name, value in outputs.items()}))
    stand_in = SignedStandIn(aws)
    code = DeployedCode(invoke=None, get=None, signed=stand_in)  # type: ignore[arg-type]

    def referrals(*args: str) -> Result:
        return CliRunner().invoke(app, ["--outputs-file", str(path), *args], obj=code)

    referrals.stand_in = stand_in  # type: ignore[attr-defined]
    return referrals


def succeeded(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_review_lists_the_flagged_rewards_page_by_page(aws: FakeAws, cli: Any) -> None:
    for user in ("ann", "ben", "cat"):
        seed(aws, "flagged", user)
    seed(aws, "payable", "dan")

    every = succeeded(cli("review", "--all", "--limit", "1", "--json"))
    first = succeeded(cli("review", "--limit", "1", "--json"))

    assert [item["userId"] for item in every["items"]] == ["ann", "ben", "cat"]
    assert "nextToken" not in every
    assert every["items"][0] == {
        "userId": "ann",
        "referrerId": "alice",
        "rewardAmount": "10.00",
        "signals": ["email_of_referrer"],
        "signupDate": referral_of(aws, "ann")["signup_date"],
        "qualified": False,
    }
    assert [item["userId"] for item in first["items"]] == ["ann"]
    assert first["nextToken"]  # a token with '=' padding went back signed, %3D-encoded


def test_approve_then_reverse_then_a_refused_approve(aws: FakeAws, cli: Any) -> None:
    seed(aws, "flagged_qualified", "bob")

    approved = succeeded(cli("approve", "bob", "--json"))
    again = succeeded(cli("approve", "bob", "--json"))
    reversed_ = succeeded(cli("reverse", "bob", "--reason", "refunded order 4411", "--json"))
    refused = cli("approve", "bob")

    assert (approved["status"], approved["qualified"], approved["rewardAmount"]) == ("payable", True, "10.00")
    assert again == approved  # an idempotent repeat answers the same
    assert (reversed_["status"], reversed_["reason"]) == ("reversed", "refunded order 4411")
    assert refused.exit_code == 1
    assert refused.stderr == "error: cannot approve a reward that has been reversed (status reversed)\n"
    item = referral_of(aws, "bob")
    assert item["reversed_by"] == item["approved_by"] == CALLER  # the signer's ARN, as API Gateway passed it


def test_qualify_a_waiting_reward_and_reverse_a_paid_one(aws: FakeAws, cli: Any) -> None:
    seed(aws, "waiting", "wes")
    seed(aws, "paid", "pat", referrer_id="paula")

    qualified = succeeded(cli("qualify", "wes", "--json"))
    clawed = succeeded(cli("reverse", "pat", "--reason", "chargeback", "--json"))

    assert (qualified["status"], qualified["qualified"]) == ("payable", True)
    assert "payableAt" in qualified
    assert (clawed["status"], clawed["reason"]) == ("clawed_back", "chargeback")


def test_an_unknown_referral_is_one_line(aws: FakeAws, cli: Any) -> None:
    result = cli("qualify", "nobody")
    assert result.exit_code == 1
    assert result.stderr == "error: unknown referral 'nobody': the API answered 404 (userId 'nobody' has no referral)\n"


def test_a_request_signed_with_other_credentials_is_refused_before_the_handler(aws: FakeAws, cli: Any) -> None:
    seed(aws, "flagged", "eve")
    cli.stand_in.secret_key = "the-secret-of-someone-else"
    result = cli("approve", "eve")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: access denied: the API refused the signed request: 403 The request signature"
    )
    assert "admin-caller-policy-arn (arn:aws:iam::1:policy/p)" in result.stderr
    assert referral_of(aws, "eve")["status"] == "flagged"
