"""parliament over every policy document of every synthesized configuration (make lint runs the default one)."""

import json
from pathlib import Path

from tests.stack.conftest import Synth
from tools.lint_policies import documents, findings


def test_every_policy_document_of_every_configuration_is_clean_or_waived(synths: dict[str, Synth]) -> None:
    failures, linted = [], 0
    for synth in synths.values():
        path = synth.stack_dir / "cdk.tf.json"
        linted += len(documents(path))
        failures += findings(path)[0]
    assert not failures, "\n".join(failures)
    assert linted >= 60  # every stack's roles, policies, key, topics, queues and bucket


def test_the_lint_catches_a_bad_policy(tmp_path: Path) -> None:
    """A misspelt action and a malformed principal: the same path as the real documents."""
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]}
    stack = {
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {"aws_iam_policy": {"p": {"policy": json.dumps(bad)}}},
    }
    path = tmp_path / "bad" / "cdk.tf.json"
    path.parent.mkdir()
    path.write_text(json.dumps(stack))
    (failure,) = findings(path)[0]
    assert "UNKNOWN_ACTION" in failure
