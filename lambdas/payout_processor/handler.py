"""Monthly payout Lambda: parse the event, run the payout (exactly once), return its summary.

Errors raise on purpose: Lambda's asynchronous retries resume an unfinished payout, and the DLQ
and error alarm see one that keeps failing. An invalid event raises before any AWS call. It
publishes nothing: the run record becoming completed is the event the stream relay publishes.
"""

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from referrals.payout_event import is_deadline_check, parse_payout_event
from referrals.payout_run import Invocation, run_payout
from referrals.payout_store import RUN_COMPLETED, DynamoPayoutStore, PayoutResources
from referrals.payout_summary import PayoutOutcome, PayoutStatus, response

SERVICE = "payout-processor"
logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE)  # namespace from POWERTOOLS_METRICS_NAMESPACE
# The domain modules log through the standard library; give them this logger's JSON format and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"referrals"})


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)  # a warm container must not log the last payout's id
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_payout_event(event, datetime.now(UTC))
    logger.append_keys(payout_id=request.payout_id)
    if is_deadline_check(event):
        return _check_deadline(request.payout_id)
    invocation = Invocation(
        request_id=context.aws_request_id, remaining_ms=context.get_remaining_time_in_millis, clock=time.time
    )
    outcome = run_payout(request, invocation, DynamoPayoutStore(PayoutResources.from_environment()))
    _record_metrics(outcome)
    return response(outcome)


def _check_deadline(payout_id: str) -> dict[str, Any]:
    """Run by the deadline schedule: one read, no payment; the alarm watches PayoutDeadlineMissed."""
    status = DynamoPayoutStore(PayoutResources.from_environment()).run_status(payout_id)
    missed = status != RUN_COMPLETED
    metrics.add_metric(name="PayoutDeadlineMissed", unit=MetricUnit.Count, value=1 if missed else 0)
    if missed:
        logger.error("payout not completed by its deadline", extra={"run_status": status or "not started"})
    return {"payoutId": payout_id, "status": status or "not_started", "deadlineMissed": missed}


def _record_metrics(outcome: PayoutOutcome) -> None:
    # Only the invocation that completes the payout counts it, so retries never double the figures.
    summary = outcome.summary if outcome.status is PayoutStatus.COMPLETED else None
    metrics.add_metric(name="PayoutsCompleted", unit=MetricUnit.Count, value=0 if summary is None else 1)
    if summary is None:
        return
    metrics.add_metric(name="RewardsPaid", unit=MetricUnit.Count, value=summary.rewards_paid)
    # A metric is a float by nature; the exact amount is in the report and the run record.
    metrics.add_metric(name="PayoutAmount", unit=MetricUnit.NoUnit, value=float(summary.total_amount))
