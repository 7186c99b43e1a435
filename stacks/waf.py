"""A WAFv2 web ACL in front of the API stage: per-IP rate limit plus AWS managed rule sets."""

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from stacks.config import StackConfig

# Common: OWASP-style protections. KnownBadInputs: request patterns of known exploits (Log4j, …).
# AnonymousIpList: VPNs, Tor and hosting providers, where scripted fake signups come from.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAnonymousIpList",
)


class ApiFirewall(Construct):
    def __init__(self, scope: Construct, id_: str, config: StackConfig, stage_arn: str, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        name = f"referral-api-{config.environment_suffix}"
        rate_limit = Wafv2WebAclRule(
            name="rate-limit-per-ip",
            priority=0,
            action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
            statement={"rate_based_statement": {"limit": config.waf_rate_limit, "aggregate_key_type": "IP"}},
            visibility_config=_rule_visibility("rate-limit-per-ip"),
        )
        managed = [
            Wafv2WebAclRule(
                name=group,
                priority=priority,
                override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                visibility_config=_rule_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1)
        ]
        self.web_acl = Wafv2WebAcl(
            self,
            "web-acl",
            name=name,
            description="Rate limit per client IP and AWS managed rules for the referral API",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=[rate_limit, *managed],
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
        )
        Wafv2WebAclAssociation(self, "association", resource_arn=stage_arn, web_acl_arn=self.web_acl.arn)
        # WAF only logs to groups whose name starts with aws-waf-logs-.
        log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=waf_log_group_name(config),
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[log_group.arn],
            # The API key is a credential: keep it out of the logs.
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name="x-api-key")
                )
            ],
        )


def waf_log_group_name(config: StackConfig) -> str:
    return f"aws-waf-logs-referral-api-{config.environment_suffix}"


def _rule_visibility(metric_name: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(
        cloudwatch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
