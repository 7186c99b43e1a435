"""The once-per-account-and-region stack: one API Gateway CloudWatch role, the same for every environment."""

import json

from tests.stack.conftest import Synth


def _without_stack_names(synth: Synth) -> dict:
    """The JSON minus cdktf's metadata, which names the stack (the ids differ only in this test)."""
    document = json.loads(json.dumps(synth.json))
    document.pop("//", None)
    for resources in document["resource"].values():
        for resource in resources.values():
            resource.pop("//", None)
    return document


def test_the_account_stack_sets_api_gateways_cloudwatch_role_and_resets_it_on_destroy(account_synth: Synth) -> None:
    (account,) = account_synth.resources("aws_api_gateway_account").values()
    assert account["cloudwatch_role_arn"] == account_synth.ref(
        "aws_iam_role", "arn", name="referral-api-gateway-logs-us-east-1"
    )
    assert account["reset_on_delete"] is True
    role = account_synth.one("aws_iam_role", name="referral-api-gateway-logs-us-east-1")
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    (attachment,) = account_synth.resources("aws_iam_role_policy_attachment").values()
    assert attachment["policy_arn"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert account["depends_on"] == ["aws_iam_role_policy_attachment.api-gateway-logging-policy"]


def test_every_environment_synthesizes_the_same_account_stack(synths: dict[str, Synth]) -> None:
    """Two environments of one account apply the same stack to the same state: no takeover, no flip-flop."""
    dev, beta = synths["tap-account"], synths["tap-account-of-another-environment"]
    assert _without_stack_names(dev) == _without_stack_names(beta)
    (provider,) = dev.json["provider"]["aws"]
    assert "Environment" not in provider["default_tags"][0]["tags"]
    assert dev.json["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.account.us-east-1.api-gateway-account.tfstate"}
    }


def test_the_account_stack_state_is_per_region_in_the_state_bucket(synths: dict[str, Synth]) -> None:
    prod = synths["tap-account-prod"]
    assert prod.json["terraform"]["backend"]["s3"]["key"] == "account/eu-west-1/api-gateway-account.tfstate"
    assert prod.one("aws_iam_role", name="referral-api-gateway-logs-eu-west-1")


def test_no_environment_manages_an_account_wide_setting(synths: dict[str, Synth]) -> None:
    account_wide = ("aws_api_gateway_account", "aws_s3_account_public_access_block", "aws_iam_account_password_policy")
    for name, synth in synths.items():
        if name.startswith("tap-stack"):
            for resource_type in account_wide:
                assert not synth.resources(resource_type), (name, resource_type)


def test_both_stacks_require_a_terraform_with_s3_native_locking(synths: dict[str, Synth]) -> None:
    for name, synth in synths.items():
        assert synth.json["terraform"]["required_version"] == ">= 1.10", name
