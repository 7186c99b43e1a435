"""API Gateway (REST proxy, AWS_IAM authorized) entry point of the admin routes:
POST /referrals/{userId}/qualify, .../approve and .../reverse, and the review queue
GET /referrals?status=flagged.

Thin on purpose: route, parse (admin_requests), make one call into referrals.admin_actions, and
let responses.py shape the outcome. Module import is the cold path: the lifecycle settings are
parsed here, so a bad REWARD_HOLD_DAYS fails the function at once; AWS clients are created on
first use (referrals.aws_clients).
"""

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from referral_admin.responses import Response, queue_page_body, response, response_for
from referrals.admin_actions import AdminActions, AdminOutcome, BadRequest
from referrals.admin_requests import parse_admin_request, parse_review_queue
from referrals.admin_store import DynamoAdminStore
from referrals.lifecycle import AdminAction
from referrals.lifecycle_settings import parse_lifecycle_settings
from referrals.review_queue import review_page
from referrals.validation import ValidationError

SERVICE = "referral-admin"
ACTION_ROUTES = {f"/referrals/{{userId}}/{action}": action for action in AdminAction}
QUEUE_ROUTE = "/referrals"

SETTINGS = parse_lifecycle_settings(os.environ)
logger = Logger(service=SERVICE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: Any) -> Response:
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", "")
    try:
        return _route(event)
    except Exception:
        # Only unexpected errors get here; every expected outcome is answered by _route.
        logger.exception("unexpected error", extra={"request_id": request_id})
        return response(500, {"error": "internal error", "requestId": request_id})


def _route(event: dict) -> Response:
    resource, method = event.get("resource") or "", event.get("httpMethod") or ""
    allowed = "GET" if resource == QUEUE_ROUTE else "POST" if resource in ACTION_ROUTES else None
    if allowed is None:
        return response(404, {"error": "no such route"})
    if method != allowed:
        return response(405, {"error": f"method not allowed; use {allowed}"})
    # The methods are AWS_IAM authorized; a method ever wired without it must not act anonymously.
    caller = ((event.get("requestContext") or {}).get("identity") or {}).get("userArn")
    if not caller:
        return response(403, {"error": "the admin routes need a SigV4-signed (AWS_IAM) request"})
    if resource == QUEUE_ROUTE:
        return _review_queue(event)
    action = ACTION_ROUTES[resource]
    outcome = _act(action, event, caller)
    logger.info("admin action", extra={"action": action.value, "outcome": type(outcome).__name__})
    return response_for(outcome)


def _review_queue(event: dict) -> Response:
    try:
        page = review_page(_store(), parse_review_queue(event.get("multiValueQueryStringParameters")))
    except ValidationError as error:
        return response_for(BadRequest(str(error)))
    return response(200, queue_page_body(page))


def _act(action: AdminAction, event: dict, caller: str) -> AdminOutcome:
    try:
        request = parse_admin_request(
            action, event.get("pathParameters"), event.get("body"), bool(event.get("isBase64Encoded"))
        )
    except ValidationError as error:
        return BadRequest(str(error))
    return _admin_actions().act(request, caller)


def _admin_actions() -> AdminActions:
    return AdminActions(_store(), SETTINGS)


def _store() -> DynamoAdminStore:
    # Read per invocation (a dict lookup) so the function follows its environment exactly.
    return DynamoAdminStore(os.environ["REFERRAL_TABLE_NAME"])
