"""Redrive the event relay's dead-letter queue from the table streams, by queue URL and function name.

    python -m tools.relay_redrive --queue-url URL --function NAME [--region R] [--dry-run]

The logic is the CLI's (referrals_cli/redrive.py, `referrals events redrive`, which finds the
queue and the function in the stack's outputs); this entry point stays for scripts that name
them directly.

Exit status: 0 when every message was redriven (or, with --dry-run, could be), 1 when any stays.
"""

import argparse
import sys

import boto3

from referrals_cli.aws import Aws
from referrals_cli.redrive import EXPIRED_ADVICE, RelayFailed, all_redriven, lambda_invoker, redrive, summary_line

# What callers of this module used before the logic moved (tests/lambdas/test_relay_redrive.py).
__all__ = ["EXPIRED_ADVICE", "RelayFailed", "lambda_invoker", "main", "redrive"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.relay_redrive", description="Redrive the event relay's DLQ from the table streams."
    )
    parser.add_argument("--queue-url", required=True, help="the relay's DLQ (stack output relay-dlq-url)")
    parser.add_argument("--function", required=True, help="the relay function (output event-relay-lambda-name)")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="read the records, invoke nothing, delete nothing")
    args = parser.parse_args(argv)
    aws = Aws(boto3.session.Session(region_name=args.region))
    outcomes = redrive(
        args.queue_url,
        args.function,
        sqs=aws.client("sqs"),
        streams=aws.client("dynamodbstreams"),
        invoke=lambda_invoker(aws.client("lambda")),
        dry_run=args.dry_run,
    )
    print(summary_line(outcomes))
    return 0 if all_redriven(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
