"""IAM policy documents as plain JSON (resource ARNs may be cdktf tokens; they resolve in place)."""

import json
from collections.abc import Sequence


def policy_document(statements: Sequence[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}


def assume_role_policy(service: str) -> str:
    return policy_document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def deny_insecure_transport_statement(action: str, resources: Sequence[str]) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def deny_insecure_transport(action: str, resources: Sequence[str]) -> str:
    """A resource policy that refuses any request not made over TLS."""
    return policy_document([deny_insecure_transport_statement(action, resources)])
