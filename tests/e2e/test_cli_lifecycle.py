"""The CLI's reward-lifecycle commands on the local deployment: review, approve, qualify, reverse
(signed with SigV4, through the admin routes to referral-admin-<suffix>), backfill-email-keys
(KMS GenerateMac with the stack's HMAC key), and referrer's lifecycle amounts.

They run last (run_last): they add referrals and reverse one of the flow's paid rewards, which
tests/e2e/test_local_deployment.py and test_cli.py must not see. Their own signups use a referrer
of their own (`lifecycle-ref`), through the deployed API and reward function, as the flow does.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referrals_cli.email_keys import email_key, email_key_secret
from tests.e2e.test_cli import Cli, succeeded
from tools.local_lambda import LocalApi, deployed_function, deployed_routes, running_function
from tools.local_stack import LocalDeployment
from tools.referral_flow import FlowResult, friend_of

pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed"),
    pytest.mark.run_last,
]
REFERRER = "lifecycle-ref"


@pytest.fixture
def cli(deployment: LocalDeployment, flow: FlowResult, tmp_path: Path) -> Cli:
    outputs = {name: {"sensitive": False, "type": "string", "value": v} for name, v in deployment.outputs.items()}
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    return Cli(deployment, outputs_file)


@pytest.fixture(scope="module")
def signups(deployment: LocalDeployment, flow: FlowResult) -> Iterator[dict[str, Any]]:
    """lifecycle-ref enrols; `flagged-1` signs up with the referrer's own mailbox (flagged:
    email_of_referrer), `clear-1` and `clear-2` with addresses of their own."""
    reward = deployed_function(deployment, deployment.outputs["reward-calc-lambda-name"])
    api_id = deployment.outputs["api-gateway-id"]
    stage = deployment.outputs["api-endpoint"].rstrip("/").rsplit("/", 1)[-1]
    with running_function(reward, deployment.endpoint) as handler:
        api = LocalApi(api_id, stage, deployed_routes(deployment, api_id), {reward.name: handler})
        answers = {
            REFERRER: api.post("/signup", {"userId": REFERRER, "email": "lifecycle.ref@gmail.com"}),
            "flagged-1": api.post(
                "/signup", {"userId": "flagged-1", "referralCode": REFERRER, "email": "Lifecycle.Ref+2@googlemail.com"}
            ),
            "clear-1": api.post("/signup", {"userId": "clear-1", "referralCode": REFERRER, "email": "c1@example.com"}),
            "clear-2": api.post("/signup", {"userId": "clear-2", "referralCode": REFERRER, "email": "c2@example.com"}),
        }
    assert [answer.status for answer in answers.values()] == [201, 200, 200, 200], answers
    yield {user: answer.body for user, answer in answers.items()}


def failed(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    return str(result.stderr.removeprefix("error: ").rstrip("\n"))


def test_the_admin_routes_go_to_the_admin_function(deployment: LocalDeployment) -> None:
    routes = {
        (r.method, r.resource): r.function_name
        for r in deployed_routes(deployment, deployment.outputs["api-gateway-id"])
    }
    admin = deployment.outputs["admin-function-name"]
    assert routes[("GET", "/referrals")] == admin
    for action in ("qualify", "approve", "reverse"):
        assert routes[("POST", f"/referrals/{{userId}}/{action}")] == admin


def test_review_lists_the_flagged_signup_and_approve_clears_it(cli: Cli, signups: dict[str, Any]) -> None:
    queue = succeeded(cli("review", "--all", "--json"))
    shown = cli("review")

    [flagged] = [item for item in queue["items"] if item["referrerId"] == REFERRER]
    assert (flagged["userId"], flagged["signals"]) == ("flagged-1", ["email_of_referrer"])
    assert flagged["rewardAmount"] == f"{signups['flagged-1']['rewardAmount']:.2f}"
    assert "flagged-1" in shown.stdout
    method, url, _ = cli.signed[0]
    assert (method, url.split("?")[0]) == ("GET", f"{cli.deployment.outputs['api-endpoint']}/referrals")

    approved = succeeded(cli("approve", "flagged-1", "--json"))
    after = succeeded(cli("review", "--all", "--json"))

    assert (approved["userId"], approved["referrerId"], approved["status"]) == ("flagged-1", REFERRER, "payable")
    assert "flagged-1" not in [item["userId"] for item in after["items"]]
    assert succeeded(cli("approve", "flagged-1", "--json")) == approved  # a repeat answers the same


def test_a_reward_reversed_before_payment_cannot_be_approved(cli: Cli, signups: dict[str, Any]) -> None:
    reversed_ = succeeded(cli("reverse", "clear-1", "--reason", "refunded order 4411", "--json"))
    refused = cli("approve", "clear-1")

    assert (reversed_["status"], reversed_["reason"]) == ("reversed", "refunded order 4411")
    assert failed(refused) == "cannot approve a reward that has been reversed (status reversed)"
    assert failed(cli("qualify", "clear-1")).endswith("(status reversed)")


def test_qualify_an_unknown_referral_is_one_line(cli: Cli) -> None:
    assert failed(cli("qualify", "nobody-at-all")) == (
        "unknown referral 'nobody-at-all': the API answered 404 (userId 'nobody-at-all' has no referral)"
    )


def test_an_unsigned_or_badly_signed_request_never_reaches_the_function(cli: Cli, signups: dict[str, Any]) -> None:
    url = f"{cli.deployment.outputs['api-endpoint']}/referrals/clear-2/reverse"
    unsigned = cli.code.signed("POST", url, b'{"reason": "x"}', {"Content-Type": "application/json"})
    cli.environment["AWS_SECRET_ACCESS_KEY"] = "not-the-emulators-secret"
    line = failed(cli("reverse", "clear-2", "--reason", "x"))

    assert (unsigned.status, unsigned.body) == (403, {"message": "Missing Authentication Token"})
    assert line.startswith("access denied: the API refused the signed request: 403 The request signature")
    assert f"admin-caller-policy-arn ({cli.deployment.outputs['admin-caller-policy-arn']})" in line


def test_a_paid_reward_reversed_is_clawed_back_and_the_referrer_shows_it(cli: Cli, flow: FlowResult) -> None:
    paid_user = friend_of("bob", 1)

    clawed = succeeded(cli("reverse", paid_user, "--reason", "chargeback", "--json"))
    stats = succeeded(cli("referrer", "bob", "--json"))

    assert (clawed["status"], clawed["reason"]) == ("clawed_back", "chargeback")
    assert stats["openClawbackAmount"] == clawed["rewardAmount"]
    recent = {r["userId"]: r["status"] for r in stats["recentReferrals"]}
    assert recent[paid_user] == "clawed_back"
    assert not [user for user in recent if "#" in user]  # the clawback item is not a referral


def test_backfill_writes_each_missing_key_once(cli: Cli, deployment: LocalDeployment, signups: dict) -> None:
    first = succeeded(cli("backfill-email-keys", "--json"))
    second = succeeded(cli("backfill-email-keys", "--json"))

    assert first["scanned"] == second["scanned"] > 0
    assert second["written"] == 0
    assert second["alreadyThere"] == first["alreadyThere"] + first["written"]
    # The key the CLI computes is the one the reward function claimed at lifecycle-ref's enrolment.
    secret = email_key_secret(deployment.client("kms"), deployment.outputs["review-email-key-arn"])
    key = email_key("lifecycle.ref@gmail.com", secret)
    item = deployment.client("dynamodb").get_item(
        TableName=deployment.outputs["referral-table-name"],
        Key={"user_id": {"S": f"{key}#email"}, "referral_timestamp": {"N": "0"}},
        ConsistentRead=True,
    )["Item"]
    assert item["owner"] == {"S": REFERRER}
    assert "@" not in json.dumps(first)
