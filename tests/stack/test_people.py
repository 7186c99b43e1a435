"""Who gets alerts and who may read: the resources the people settings add (tests/stack/conftest.py PEOPLE)."""

import json

from tests.stack.conftest import Synth


def test_every_alert_address_is_an_email_subscription_of_the_ops_topic(people_synth: Synth, synth: Synth) -> None:
    ops_topic = people_synth.ref("aws_sns_topic", "arn", name="ops-alerts-people")
    subscriptions = people_synth.resources("aws_sns_topic_subscription").values()
    assert sorted((s["topic_arn"], s["protocol"], s["endpoint"]) for s in subscriptions) == [
        (ops_topic, "email", "oncall@example.com"),
        (ops_topic, "email", "payments-team@example.org"),
    ]
    assert not synth.resources("aws_sns_topic_subscription")


def test_each_people_role_gets_its_managed_policy_only_if_it_is_in_this_account(people_synth: Synth) -> None:
    policies = {p["name"]: p for p in people_synth.resources("aws_iam_policy").values()}
    assert set(policies) == {
        "referral-report-readers-people",
        "referral-operators-people",
        "referral-admin-callers-people",  # attached to no role: for the host backend's (output)
    }
    attachments = {
        (a["role"], a["policy_arn"]): a
        for a in people_synth.resources("aws_iam_role_policy_attachment").values()
        if "lifecycle" in a
    }
    readers = people_synth.ref("aws_iam_policy", "arn", name="referral-report-readers-people")
    operators = people_synth.ref("aws_iam_policy", "arn", name="referral-operators-people")
    assert set(attachments) == {("payout-reports", readers), ("oncall", operators), ("sre", operators)}
    for attachment in attachments.values():
        (precondition,) = attachment["lifecycle"]["precondition"]
        assert precondition["condition"] == '${(data.aws_caller_identity.account.account_id == "123456789012")}'
        assert "not in the account being deployed to" in precondition["error_message"]


def test_people_policies_change_no_data(people_synth: Synth) -> None:
    """...except through the admin routes, whose function checks every change and records who made it,
    and the e-mail key items the backfill writes (keyed HMACs: no reward, count or profile)."""
    writes = ("Put", "Update", "Delete*Item", "Batch", "Write", "Send", "Encrypt", "GenerateDataKey")
    email_keys_only = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["*#email"]}}
    for policy in people_synth.resources("aws_iam_policy").values():
        for statement in json.loads(policy["policy"])["Statement"]:
            if statement["Sid"] == "WriteEmailKeysOnly":
                assert policy["name"] == "referral-operators-people"
                assert (statement["Action"], statement["Condition"]) == (["dynamodb:PutItem"], email_keys_only)
                table = people_synth.ref("aws_dynamodb_table", "arn", name="referral-tracking-people")
                assert statement["Resource"] == [table]
                continue
            for action in statement["Action"]:
                assert not any(word in action for word in writes), (policy["name"], action)


def test_operators_may_review_rewards_and_backfill_email_keys(people_synth: Synth) -> None:
    statements = json.loads(people_synth.one("aws_iam_policy", name="referral-operators-people")["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    callers = json.loads(people_synth.one("aws_iam_policy", name="referral-admin-callers-people")["policy"])
    (admin_routes,) = callers["Statement"]
    # The same routes as the admin callers' policy, no more.
    assert by_sid["CallTheAdminRoutes"]["Action"] == ["execute-api:Invoke"]
    assert by_sid["CallTheAdminRoutes"]["Resource"] == admin_routes["Resource"]
    assert by_sid["DeriveEmailKeySecret"] == {
        "Sid": "DeriveEmailKeySecret",
        "Effect": "Allow",
        "Action": ["kms:GenerateMac"],
        "Resource": [people_synth.ref("aws_kms_key", "arn", customer_master_key_spec="HMAC_256")],
    }


def test_people_outputs_name_their_policies(people_synth: Synth, synth: Synth) -> None:
    outputs = people_synth.json["output"]
    assert outputs["report-reader-policy-arn"]["value"] == people_synth.ref(
        "aws_iam_policy", "arn", name="referral-report-readers-people"
    )
    assert outputs["operator-policy-arn"]["value"] == people_synth.ref(
        "aws_iam_policy", "arn", name="referral-operators-people"
    )
    assert not {"report-reader-policy-arn", "operator-policy-arn"} & set(synth.json["output"])
