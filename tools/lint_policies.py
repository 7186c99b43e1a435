"""parliament (an IAM policy linter) over every policy document in the synthesized Terraform JSON.

    python -m tools.lint_policies cdktf.out/stacks/*/cdk.tf.json

Terraform references (`${aws_sqs_queue.x.arn}`) are replaced by ARNs of the same shape built from
the resource's own name, so parliament checks what AWS will see. Each finding that is a false
positive is waived below with the reason; any other finding fails (exit status 1).
"""

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from parliament import analyze_policy_string

SAMPLE_ACCOUNT = "123456789012"
# Where each resource type keeps a policy document.
POLICY_FIELDS = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_kms_key": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_s3_bucket_policy": "policy",
}
REFERENCE = re.compile(r"\$\{(?P<type>(?:data\.)?aws_[a-z0-9_]+)\.(?P<key>[A-Za-z0-9_-]+)\.(?P<attribute>[a-z_]+)\}")


@dataclass(frozen=True)
class Waiver:
    issue: str
    applies_to: tuple[str, ...]  # resource types
    reason: str


WAIVERS = (
    Waiver(
        "MALFORMED",
        ("aws_iam_role",),
        "a trust policy (assume_role_policy) names no Resource: the role is the resource; parliament "
        "reads every document as an identity policy",
    ),
    Waiver(
        "RESOURCE_STAR",
        ("aws_kms_key",),
        'in a key policy "Resource": "*" means the key the policy is attached to (AWS KMS key policy docs); '
        "every statement names its principal, and data use is limited by principal and condition",
    ),
)


def sample_value(document: dict, match: re.Match[str], region: str) -> str:
    """An ARN or value of the shape AWS will put where the reference stands."""
    kind, key, attribute = match["type"], match["key"], match["attribute"]
    if kind == "data.aws_caller_identity":
        return SAMPLE_ACCOUNT
    if kind == "data.aws_partition":
        return "aws"
    resource = document["resource"][kind][key]
    name = str(resource.get("name") or resource.get("function_name") or resource.get("bucket_prefix") or key)
    arns = {
        "aws_dynamodb_table": f"arn:aws:dynamodb:{region}:{SAMPLE_ACCOUNT}:table/{name}",
        "aws_sns_topic": f"arn:aws:sns:{region}:{SAMPLE_ACCOUNT}:{name}",
        "aws_sqs_queue": f"arn:aws:sqs:{region}:{SAMPLE_ACCOUNT}:{name}",
        "aws_s3_bucket": f"arn:aws:s3:::{name}0123abcd",
        "aws_lambda_function": f"arn:aws:lambda:{region}:{SAMPLE_ACCOUNT}:function:{name}",
        "aws_cloudwatch_log_group": f"arn:aws:logs:{region}:{SAMPLE_ACCOUNT}:log-group:{name}",
        "aws_kms_key": f"arn:aws:kms:{region}:{SAMPLE_ACCOUNT}:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "aws_iam_role": f"arn:aws:iam::{SAMPLE_ACCOUNT}:role/{name}",
        "aws_iam_policy": f"arn:aws:iam::{SAMPLE_ACCOUNT}:policy/{name}",
        "aws_api_gateway_rest_api": f"arn:aws:execute-api:{region}:{SAMPLE_ACCOUNT}:a1b2c3d4e5",
    }
    if attribute in ("arn", "execution_arn") and kind in arns:
        return arns[kind]
    if (kind, attribute) == ("aws_api_gateway_api_key", "id"):
        return "k1l2m3n4o5"  # API Gateway's ARNs name a key by its id
    raise ValueError(f"no sample value for {match[0]}: add one to tools/lint_policies.py")


def documents(path: Path) -> list[tuple[str, str, str]]:
    """(resource type, resource key, policy text with references resolved) of one synthesized stack."""
    document = json.loads(path.read_text())
    (provider,) = document["provider"]["aws"]
    found = []
    for kind, field in POLICY_FIELDS.items():
        for key, resource in document.get("resource", {}).get(kind, {}).items():
            text = REFERENCE.sub(lambda m: sample_value(document, m, provider["region"]), resource[field])
            found.append((kind, key, text))
    return found


def findings(path: Path) -> tuple[list[str], Counter[Waiver]]:
    """Lines naming each unwaived finding (stack, resource, issue, detail), and how often each waiver applied."""
    failures, waived = [], Counter[Waiver]()
    for kind, key, text in documents(path):
        for finding in analyze_policy_string(text, ignore_private_auditors=True).findings:
            waiver = next((w for w in WAIVERS if w.issue == finding.issue and kind in w.applies_to), None)
            if waiver:
                waived[waiver] += 1
            else:
                failures.append(f"{path.parent.name}: {kind}.{key}: {finding.issue} {finding.detail}")
    return failures, waived


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python -m tools.lint_policies cdktf.out/stacks/*/cdk.tf.json", file=sys.stderr)
        return 2
    failures, waived, count = [], Counter[Waiver](), 0
    for name in paths:
        count += len(documents(Path(name)))
        stack_failures, stack_waived = findings(Path(name))
        failures += stack_failures
        waived += stack_waived
    for line in failures:
        print(f"FAIL {line}")
    print(f"parliament: {count} policy documents, {len(failures)} findings, {sum(waived.values())} waived")
    for waiver, times in waived.items():
        print(f"  waived {times} x {waiver.issue} on {', '.join(waiver.applies_to)}: {waiver.reason}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
