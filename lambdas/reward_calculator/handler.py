"""API Gateway (REST proxy) entry point: POST /signup and GET /referrers/{code}.

Thin on purpose: parse the request, make one call into referrals.signup, shape the response.
Module import is the cold path, so it holds only the tier table and the lifecycle settings
(parsed here so a bad REWARD_TIERS or REWARD_*/REVIEW_* setting, or a shared-e-mail signal without
its REVIEW_EMAIL_KEY_ARN, fails the function at once) and the Powertools Logger and Metrics; AWS
clients are created on first use (referrals.aws_clients), and so is the e-mail key secret (one
KMS call per container, at its first signup with an e-mail).
"""

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any, assert_never

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from referrals import exact_json
from referrals.email_key_secret import email_key_arn, email_key_secret
from referrals.lifecycle import RewardState
from referrals.lifecycle_settings import parse_lifecycle_settings
from referrals.referral_store import DynamoReferralStore
from referrals.review_signals import email_key
from referrals.signup import (
    AlreadySignedUp,
    Enrolled,
    Rewarded,
    SignupOutcome,
    Signups,
    TooBusy,
    UnknownReferrer,
)
from referrals.tiers import ENV_VAR as TIERS_ENV_VAR
from referrals.tiers import parse_tiers
from referrals.validation import ValidationError, parse_id, parse_signup

# The dashboard selects metrics by this service dimension, so it is fixed here rather than taken
# from POWERTOOLS_SERVICE_NAME.
SERVICE = "reward-calculator"
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ReferralProgram")
JSON_HEADERS = {"Content-Type": "application/json"}

TIERS = parse_tiers(os.environ.get(TIERS_ENV_VAR))
LIFECYCLE = parse_lifecycle_settings(os.environ)
email_key_arn(LIFECYCLE, os.environ)  # raises at cold start when the signal is on without its key
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

Response = dict[str, Any]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: Any) -> Response:
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", "")
    try:
        return _route(event)
    except Exception:
        # Only unexpected errors get here; every expected outcome is answered by _route.
        logger.exception("unexpected error", extra={"request_id": request_id})
        return _response(500, {"error": "internal error", "requestId": request_id})
    finally:
        # Skips Powertools' "no metrics" warning on requests that counted nothing (stats).
        if metrics.metric_set:
            metrics.flush_metrics()


def _route(event: dict) -> Response:
    routes: dict[str, dict[str, Callable[[dict], Response]]] = {
        "/signup": {"POST": _signup},
        "/referrers/{code}": {"GET": _stats},
    }
    methods = routes.get(event.get("resource") or "")
    if methods is None:
        return _response(404, {"error": "no such route"})
    action = methods.get(event.get("httpMethod") or "")
    if action is None:
        return _response(405, {"error": f"method not allowed; use {', '.join(methods)}"})
    return action(event)


def _signup(event: dict) -> Response:
    try:
        request = parse_signup(event.get("body"), bool(event.get("isBase64Encoded")))
    except ValidationError as error:
        return _rejected("invalid_request", 400, str(error))
    return _signup_response(_signups().sign_up(request))


def _signup_response(outcome: SignupOutcome) -> Response:
    match outcome:
        case Enrolled(code, is_retry):
            if not is_retry:
                metrics.add_metric(name="Enrolments", unit=MetricUnit.Count, value=1)
            return _response(201, {"message": "enrolled; share your referral code", "referralCode": code})
        case Rewarded():
            return _rewarded(outcome)
        case UnknownReferrer(code):
            return _rejected("unknown_referrer", 404, f"referralCode {code!r} does not exist")
        case AlreadySignedUp(user_id):
            return _rejected("already_signed_up", 409, f"userId {user_id!r} has already signed up")
        case TooBusy(attempts):
            logger.warning("gave up on a contended referrer", extra={"attempts": attempts})
            message = "too many simultaneous signups for this referralCode; retry shortly"
            return _rejected("contention", 503, message, {"Retry-After": "1"})
    assert_never(outcome)


def _rewarded(outcome: Rewarded) -> Response:
    referral = outcome.referral
    if not outcome.is_retry:
        if referral.reward.state is RewardState.FLAGGED:
            # Ids and signals only: no address (the review queue lists the same).
            signals = sorted(referral.reward.signals)
            logger.info("reward flagged for review", extra={"user_id": referral.user_id, "signals": signals})
        metrics.add_metric(name="Signups", unit=MetricUnit.Count, value=1)
        # A metric, not money: CloudWatch stores doubles, the exact amount is in the table.
        metrics.add_metric(name="RewardAmount", unit=MetricUnit.NoUnit, value=float(referral.reward_amount))
    body = {
        "message": "referral recorded",
        "rewardAmount": referral.reward_amount,
        "referralCount": referral.referral_number,
    }
    return _response(200, body)


def _stats(event: dict) -> Response:
    try:
        code = parse_id("code", (event.get("pathParameters") or {}).get("code"))
    except ValidationError as error:
        return _response(400, {"error": str(error)})
    stats = _signups().stats(code)
    if stats is None:
        return _response(404, {"error": f"referrer {code!r} does not exist"})
    amounts = stats.amounts
    body: dict[str, str | int | Decimal] = {
        "referralCode": stats.referral_code,
        "referralCount": stats.referral_count,
        "totalRewards": stats.total_rewards,
        "pendingAmount": amounts.pending,  # waiting + flagged + payable
        "paidAmount": amounts.paid,
        "waitingAmount": amounts.waiting,
        "flaggedAmount": amounts.flagged,
        "payableAmount": amounts.payable,
        "reversedAmount": amounts.reversed,
        "openClawbackAmount": amounts.open_clawbacks,
    }
    return _response(200, body)


def _signups() -> Signups:
    # Read per invocation (a few dict lookups) so the function follows its environment exactly.
    store = DynamoReferralStore(os.environ["REFERRAL_TABLE_NAME"])
    key_arn = email_key_arn(LIFECYCLE, os.environ)
    if key_arn is None:
        return Signups(store, TIERS, LIFECYCLE)
    return Signups(store, TIERS, LIFECYCLE, email_key=lambda address: email_key(address, email_key_secret(key_arn)))


def _rejected(reason: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    with single_metric(
        name="SignupsRejected",
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="reason", value=reason)
    logger.info("signup rejected", extra={"reason": reason, "status": status, "detail": message})
    return _response(status, {"error": message}, headers)


def _response(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return {"statusCode": status, "headers": JSON_HEADERS | (headers or {}), "body": exact_json.dumps(body)}
