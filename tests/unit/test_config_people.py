"""The settings that let people in: alert e-mails, report readers, operators."""

import pytest

from stacks.config import ConfigError, StackConfig, role_arn_parts

READER = "arn:aws:iam::123456789012:role/finance/payout-reports"


def test_people_settings_default_to_nobody() -> None:
    config = StackConfig.from_env({})
    assert (config.ops_alert_emails, config.report_reader_role_arns, config.operator_role_arns) == ((), (), ())


def test_lists_are_comma_separated_with_blanks_ignored() -> None:
    config = StackConfig.from_env(
        {
            "OPS_ALERT_EMAILS": " oncall@example.com,, payments+alerts@mail.example.org ",
            "REPORT_READER_ROLE_ARNS": READER,
            "OPERATOR_ROLE_ARNS": "arn:aws:iam::123456789012:role/oncall, arn:aws-us-gov:iam::123456789012:role/sre",
        }
    )
    assert config.ops_alert_emails == ("oncall@example.com", "payments+alerts@mail.example.org")
    assert config.report_reader_role_arns == (READER,)
    assert config.operator_role_arns[1] == "arn:aws-us-gov:iam::123456789012:role/sre"


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("OPS_ALERT_EMAILS", "oncall", "not an e-mail address"),
        ("OPS_ALERT_EMAILS", "oncall@localhost", "not an e-mail address"),
        ("OPS_ALERT_EMAILS", "on call@example.com", "not an e-mail address"),
        ("OPS_ALERT_EMAILS", "a@example..com", "not an e-mail address"),
        ("OPS_ALERT_EMAILS", "a@example.com;b@example.com", "not an e-mail address"),
        ("OPS_ALERT_EMAILS", "a@example.com,A@example.com", "more than once"),
        ("OPS_ALERT_EMAILS", ",".join(f"u{n}@example.com" for n in range(11)), "at most 10"),
        ("REPORT_READER_ROLE_ARNS", "finance", "not an IAM role ARN"),
        ("REPORT_READER_ROLE_ARNS", "arn:aws:iam::123:role/x", "not an IAM role ARN"),
        ("REPORT_READER_ROLE_ARNS", "arn:aws:iam::123456789012:user/alice", "not an IAM role ARN"),
        ("REPORT_READER_ROLE_ARNS", "arn:aws:iam::123456789012:role/", "not an IAM role ARN"),
        ("OPERATOR_ROLE_ARNS", f"{READER},{READER}", "more than once"),
        ("OPERATOR_ROLE_ARNS", "arn:aws:iam::123456789012:role/*", "not an IAM role ARN"),
    ],
)
def test_bad_entries_are_refused_with_the_variable_named(variable: str, value: str, hint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_env({variable: value})
    message = str(raised.value)
    assert f"{variable}=" in message
    assert hint in message


def test_a_role_arn_gives_its_account_and_name_without_the_path() -> None:
    assert role_arn_parts(READER) == ("123456789012", "payout-reports")
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        role_arn_parts("payout-reports")
