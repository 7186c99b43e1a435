"""A publish that fails after the commit: 200 anyway, marked, counted, and re-sent once by the retry."""

import pytest
from botocore.exceptions import ClientError

from referrals import contract as c
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws, published_messages
from tests.lambdas.reward_api import captured_logs, emitted_metrics, item, referral_items, referral_of, sign_up

RECORDED = (200, {"message": "referral recorded", "rewardAmount": 10, "referralCount": 1})
FAILURE_METRIC = ("NotificationFailures", {"service": "reward-calculator"}, 1.0)


def sns_outage(message: str) -> Exception:
    return ClientError({"Error": {"Code": "InternalError", "Message": message}}, "Publish")


def test_publish_failure_after_commit_answers_200_and_is_resent_once(
    aws: FakeAws, capsys: pytest.CaptureFixture
) -> None:
    sign_up("alice")
    with captured_logs() as logs, recorded_calls(fail_at=3) as log:
        log.fault = sns_outage
        assert sign_up("bob", "alice") == RECORDED
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "sns:Publish", "dynamodb:UpdateItem"]
    assert referral_of(aws, "bob")[c.NOTIFICATION_FAILED] is True
    assert published_messages(aws) == []
    assert FAILURE_METRIC in emitted_metrics(capsys.readouterr().out)
    [error] = [record for record in logs if record["level"] == "ERROR"]
    assert "InternalError" in error["error"]

    # The identical retry is the re-send path: same answer, one notification, mark cleared.
    with recorded_calls() as log:
        assert sign_up("bob", "alice") == RECORDED
    assert log.calls == [
        "dynamodb:UpdateItem",
        "dynamodb:TransactWriteItems",
        "dynamodb:GetItem",
        "sns:Publish",
        "dynamodb:UpdateItem",
    ]
    [message] = published_messages(aws)
    assert '"userId":"bob"' in message["Body"]
    assert c.NOTIFICATION_FAILED not in referral_of(aws, "bob")

    # Once re-sent, further retries send nothing.
    assert sign_up("bob", "alice") == RECORDED
    assert published_messages(aws) == []
    assert FAILURE_METRIC not in emitted_metrics(capsys.readouterr().out)
    assert len(referral_items(aws)) == 1
    referrer = item(aws, "alice")
    assert referrer is not None
    assert (referrer[c.REFERRAL_COUNT], referrer[c.TOTAL_REWARDS]) == (1, 10)


def test_retry_while_the_topic_still_fails_keeps_the_mark(aws: FakeAws, capsys: pytest.CaptureFixture) -> None:
    sign_up("alice")
    with recorded_calls(fail_at=3) as log:
        log.fault = sns_outage
        sign_up("bob", "alice")
    with recorded_calls(fail_at=4) as log:
        log.fault = sns_outage
        assert sign_up("bob", "alice") == RECORDED
    # No second mark write: the item already carries it.
    assert log.calls == ["dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "dynamodb:GetItem", "sns:Publish"]
    assert referral_of(aws, "bob")[c.NOTIFICATION_FAILED] is True
    failures = [m for m in emitted_metrics(capsys.readouterr().out) if m[0] == "NotificationFailures"]
    assert len(failures) == 2
