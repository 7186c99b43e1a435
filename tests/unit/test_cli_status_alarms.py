"""`referrals status` asks CloudWatch for the stack's own alarms by name (the operator policy allows
DescribeAlarms on those alarms only), at most 100 names a call."""

from typing import Any

import pytest

from referrals_cli.errors import CliError
from referrals_cli.outputs import Outputs
from referrals_cli.status import alarms_in_alarm


class FakeCloudWatch:
    def __init__(self, in_alarm: set[str]) -> None:
        self.in_alarm = in_alarm
        self.requests: list[dict] = []

    def get_paginator(self, name: str) -> "FakeCloudWatch":
        assert name == "describe_alarms"
        return self

    def paginate(self, **request: Any) -> list[dict]:
        self.requests.append(request)
        # Every named alarm, whatever StateValue asks (as moto answers): the CLI checks the state.
        return [
            {
                "MetricAlarms": [
                    {"AlarmName": n, "StateValue": "ALARM" if n in self.in_alarm else "OK", "StateReason": "why"}
                    for n in request["AlarmNames"]
                ]
            }
        ]


def test_the_stacks_alarms_are_asked_for_by_name_a_hundred_at_a_time() -> None:
    names = [f"alarm-{n:03}" for n in range(150)]
    cloudwatch = FakeCloudWatch({"alarm-149", "alarm-007"})
    alarms = alarms_in_alarm(cloudwatch, names)
    assert [a.name for a in alarms] == ["alarm-007", "alarm-149"]
    assert [(r["AlarmNames"][0], len(r["AlarmNames"]), r["StateValue"]) for r in cloudwatch.requests] == [
        ("alarm-000", 100, "ALARM"),
        ("alarm-100", 50, "ALARM"),
    ]


def test_a_deployment_without_the_alarm_names_output_asks_for_a_deploy() -> None:
    outputs = Outputs({"ops-topic-arn": "arn:aws:sns:us-east-1:1:ops"}, "outputs.json")
    with pytest.raises(CliError, match=r"no output 'alarm-names'.*deploy the current one"):
        outputs.names("alarm-names")
    assert Outputs({"alarm-names": ["a", "b"]}, "x").names("alarm-names") == ["a", "b"]
