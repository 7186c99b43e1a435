"""Where moto (the local emulator) falls short of AWS for the deployed stacks: the one list.

tests/e2e and tools/local_stack.py use these, and the README names them. Each entry is a gap of
the emulator, not of the stack; on real AWS none of them applies. Anything not listed here (a
planned change, a failed destroy) is a defect of the stack, or a new gap to be understood first.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanGap:
    stack: str
    address: str  # the resource, as `terraform plan` names it
    attribute: str
    reason: str


# What `terraform plan` shows right after `terraform apply` (on AWS: nothing at all).
EMULATOR_PLAN_GAPS = (
    PlanGap(
        "tap-stack",
        "aws_lambda_function.payout-processor_function_6F3FC712",
        "dead_letter_config",
        "moto does not store a function's DeadLetterConfig: the payout function (payout-processing-<suffix>) "
        "always plans `+ dead_letter_config`",
    ),
)

# Resources `terraform destroy` cannot remove from moto, taken out of the state instead
# (`terraform state rm`) before the rest of their stack is destroyed.
EMULATOR_DESTROY_GAPS = {
    "aws_api_gateway_account.api-gateway-account": (
        "with reset_on_delete the provider clears the setting with a patch operation that has no value; "
        "moto's UpdateAccount fails on it (500, KeyError 'value') and the provider retries for minutes"
    ),
}


def allowed_drift(stack: str) -> set[tuple[str, str]]:
    """(resource address, attribute) pairs a plan of `stack` on moto shows right after an apply."""
    return {(gap.address, gap.attribute) for gap in EMULATOR_PLAN_GAPS if gap.stack == stack}
