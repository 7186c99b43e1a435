"""Where moto (the local emulator) falls short of AWS for the deployed stacks: the one list.

tests/e2e and tools/local_stack.py use these, and docs/getting-started.md names them. Each entry is a gap of
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


# Where moto behaves unlike AWS while the deployment runs, and what the local tools do about each.
EMULATOR_BEHAVIOUR_GAPS = {
    "event source mappings run nothing": (
        "moto stores both mappings of the relay but can run a function only in Docker, so nothing reads the "
        "streams: the demo and tests/e2e read them (tools/local_streams.py) and run the relay in-process, "
        "batched and retried as each mapping is configured (tools/local_lambda.py, deliver_records)"
    ),
    "a stream with a mapping loses its records": (
        "after every write to a table with a mapping, moto tries to invoke the function; without Docker it gets "
        "an error text back, takes it for a delivered batch and empties the table's stream (and numbers the next "
        "record as the first). AWS keeps every record 24 hours whoever reads it. tools/moto_server.py starts "
        "moto with that delivery switched off, so the streams keep their records"
    ),
    "ListEventSourceMappings by FunctionName": (
        "moto matches the filter against the exact text the mapping was created with (the stack gives the "
        "function's ARN), so the function's name finds nothing; AWS accepts a name, an ARN or a partial ARN. "
        "The tools and tests/e2e list the mappings by EventSourceArn"
    ),
    "AWS_IAM methods are not authorized": (
        "moto's API Gateway evaluates no IAM: it neither checks a method's SigV4 signature nor the caller's "
        "policies (a request without admin-caller-policy-arn would pass), and it runs no function anyway. The "
        "stand-in for the admin routes (tools/demo.py, local_deployed_code) checks the signature itself "
        "(tools/local_sigv4.py: execute-api, the region, the emulator's fake secret) and hands the admin "
        "function the signer's ARN as requestContext.identity.userArn, as API Gateway would; which policies "
        "allow the caller is checked only on AWS"
    ),
    "dynamodbstreams on the account endpoint": (
        "botocore 1.44 sends dynamodbstreams calls to <account>.streams-ddb.<region>.amazonaws.com, which moto's "
        "in-process mock does not serve: tests/lambdas use REGIONAL_ENDPOINT (tools/local_streams.py); a client "
        "with the local server's endpoint_url needs nothing"
    ),
}


def allowed_drift(stack: str) -> set[tuple[str, str]]:
    """(resource address, attribute) pairs a plan of `stack` on moto shows right after an apply."""
    return {(gap.address, gap.attribute) for gap in EMULATOR_PLAN_GAPS if gap.stack == stack}
