"""Synthesize the stacks once per test session and share their Terraform JSON.

One cdktf App holds every configuration the tests need, so jsii and the provider bindings load
once; each stack is synthesized into its own directory under a session temp dir.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.config import StackConfig
from stacks.provider_import import skip_provider_package_init

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OFFLINE_TFRC = PROJECT_ROOT / "tools" / "terraform-offline.tfrc"
PROVIDER_MIRROR = Path("/opt/tf-plugins")

# Before any test module imports cdktf (at collection): jsii's Node process starts once, with
# this environment, and cdktf's Testing runs terraform from that process. Offline machines get
# the provider mirror; elsewhere the registry is used as is.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
if PROVIDER_MIRROR.is_dir() and not Path(os.environ.get("TF_CLI_CONFIG_FILE", "/nonexistent")).is_file():
    os.environ["TF_CLI_CONFIG_FILE"] = str(OFFLINE_TFRC)
skip_provider_package_init()

DEFAULT = StackConfig.from_env({})
REMOTE_STATE = StackConfig.from_env(
    {
        "ENVIRONMENT_SUFFIX": "prod",
        "AWS_REGION": "eu-west-1",
        "STATE_BUCKET": "acme-terraform-state",
        "STATE_BUCKET_REGION": "eu-central-1",
    }
)
# Throwaway environment: no WAF, no deletion protection, custom API limits, tiers and lifecycle settings.
THROWAWAY = StackConfig.from_env(
    {
        "ENVIRONMENT_SUFFIX": "pr-7",
        "WAF_ENABLED": "false",
        "DELETION_PROTECTION": "false",
        "API_RATE_LIMIT": "5",
        "API_BURST_LIMIT": "10",
        "API_QUOTA_PER_DAY": "1000",
        "LOG_RETENTION_DAYS": "7",
        "REWARD_TIERS": '{"1": "12.50", "3": "20"}',
        "REWARD_HOLD_DAYS": "14",
        "REWARD_QUALIFICATION": "event",
        "REVIEW_SHARED_EMAIL": "false",
        "REVIEW_BURST_PER_HOUR": "5",
    }
)
# People let in: alert e-mails, report readers and operators (roles of the emulator's account id).
PEOPLE = StackConfig.from_env(
    {
        "ENVIRONMENT_SUFFIX": "people",
        "OPS_ALERT_EMAILS": "oncall@example.com, payments-team@example.org",
        "REPORT_READER_ROLE_ARNS": "arn:aws:iam::123456789012:role/finance/payout-reports",
        "OPERATOR_ROLE_ARNS": "arn:aws:iam::123456789012:role/oncall,arn:aws:iam::123456789012:role/sre",
    }
)
# The local demo: every endpoint at an emulator, no public layers, no WAF.
LOCAL = StackConfig.from_env({"ENVIRONMENT_SUFFIX": "local", "LOCAL_AWS_ENDPOINT": "http://127.0.0.1:5999"})
CONFIGS = {
    "tap-stack": DEFAULT,
    "tap-stack-prod": REMOTE_STATE,
    "tap-stack-throwaway": THROWAWAY,
    "tap-stack-local": LOCAL,
    "tap-stack-people": PEOPLE,
}
# The once-per-account stack as two environments of one account synthesize it.
ACCOUNT_CONFIGS = {
    "tap-account": DEFAULT,
    "tap-account-of-another-environment": StackConfig.from_env(
        {"ENVIRONMENT_SUFFIX": "beta", "DELETION_PROTECTION": "false"}
    ),
    "tap-account-prod": REMOTE_STATE,
}


@dataclass(frozen=True)
class Synth:
    outdir: Path
    stack_dir: Path
    json: dict

    def resources(self, resource_type: str) -> dict[str, dict]:
        return self.json["resource"].get(resource_type, {})

    def one(self, resource_type: str, **match: object) -> dict:
        found = [r for r in self.resources(resource_type).values() if all(r.get(k) == v for k, v in match.items())]
        assert len(found) == 1, f"expected one {resource_type} with {match}, found {len(found)}"
        return found[0]

    def ref(self, resource_type: str, attribute: str, **match: object) -> str:
        """The token another resource would use to refer to this one's attribute."""
        keys = [k for k, r in self.resources(resource_type).items() if all(r.get(a) == v for a, v in match.items())]
        assert len(keys) == 1, f"expected one {resource_type} with {match}, found {len(keys)}"
        return f"${{{resource_type}.{keys[0]}.{attribute}}}"

    def role_policy(self, role_name: str) -> dict:
        """The parsed inline policy of the role with this name (each role has exactly one)."""
        role_id = self.ref("aws_iam_role", "id", name=role_name)
        policies = [p for p in self.resources("aws_iam_role_policy").values() if p["role"] == role_id]
        assert len(policies) == 1, role_name
        return json.loads(policies[0]["policy"])


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    from cdktf import App

    from stacks.account_stack import AccountStack
    from stacks.tap_stack import TapStack

    outdir = tmp_path_factory.mktemp("cdktf.out")
    app = App(outdir=str(outdir))
    for name, config in CONFIGS.items():
        TapStack(app, name, config)
    for name, config in ACCOUNT_CONFIGS.items():
        AccountStack(app, name, config)
    app.synth()
    result = {}
    for name in [*CONFIGS, *ACCOUNT_CONFIGS]:
        stack_dir = outdir / "stacks" / name
        result[name] = Synth(outdir, stack_dir, json.loads((stack_dir / "cdk.tf.json").read_text()))
    return result


@pytest.fixture(scope="session")
def synth(synths: dict[str, Synth]) -> Synth:
    """The default configuration: suffix dev, us-east-1, local state."""
    return synths["tap-stack"]


@pytest.fixture(scope="session")
def prod_synth(synths: dict[str, Synth]) -> Synth:
    """Suffix prod in eu-west-1 with an S3 state backend in eu-central-1."""
    return synths["tap-stack-prod"]


@pytest.fixture(scope="session")
def throwaway_synth(synths: dict[str, Synth]) -> Synth:
    return synths["tap-stack-throwaway"]


@pytest.fixture(scope="session")
def people_synth(synths: dict[str, Synth]) -> Synth:
    """Alert e-mails, a report reader role and two operator roles."""
    return synths["tap-stack-people"]


@pytest.fixture(scope="session")
def account_synth(synths: dict[str, Synth]) -> Synth:
    """The once-per-account-and-region stack (API Gateway's CloudWatch role)."""
    return synths["tap-account"]


@pytest.fixture(scope="session")
def local_synth(synths: dict[str, Synth]) -> Synth:
    return synths["tap-stack-local"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show what the least-privilege test compared: every action called and every action granted."""
    from tests.stack.test_least_privilege import REPORT

    if REPORT:
        terminalreporter.section("least privilege: AWS actions called vs granted")
        for line in REPORT:
            terminalreporter.write_line(line)
