"""The copy checkov scans differs from the synthesized stack only by terraform.required_version."""

import json
from pathlib import Path

from tools.checkov_input import checkov_copy


def test_the_copy_leaves_out_required_version_and_nothing_else(tmp_path: Path) -> None:
    stack = {
        "terraform": {"required_version": ">= 1.10", "required_providers": {"aws": {"version": "5.100.0"}}},
        "resource": {"aws_sqs_queue": {"q": {"name": "dlq"}}},
    }
    source = tmp_path / "stacks" / "tap-stack" / "cdk.tf.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(stack))
    copy = checkov_copy(source, tmp_path / "checkov")
    assert copy == tmp_path / "checkov" / "tap-stack" / "cdk.tf.json"
    del stack["terraform"]["required_version"]
    assert json.loads(copy.read_text()) == stack
    assert "required_version" in source.read_text()  # the synthesized file is untouched
