"""The deployed functions, run in this process as Lambda would run them, against the emulator.

moto creates Lambda functions but cannot invoke them without Docker, so their code runs here: the
handler each function is configured with, under exactly the environment it has (read back from the
emulator) plus what the Lambda runtime adds, with a context that counts down its own timeout.
Events arrive as the deployed API, schedule and event source mappings would send them: API Gateway
proxy events for the API's routes, the schedule's own input with Scheduler's placeholders filled
in, and batches of a table's stream records as the mapping on that stream configures them.
"""

import importlib
import json
import os
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3

from tools.local_stack import FAKE_ACCESS_KEY, PROJECT_ROOT, LocalDeployment, StepFailed
from tools.local_streams import sequence_number, stream_event

LAMBDAS_DIR = PROJECT_ROOT / "lambdas"  # the zip root: handlers import `referrals` from here
SCHEDULED_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # how Scheduler writes <aws.scheduler.scheduled-time>

Handler = Callable[[Any], Any]


# Functions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    arn: str
    handler: str  # module.attribute, as configured on the function
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def deployed_function(deployment: LocalDeployment, name: str) -> DeployedFunction:
    config = deployment.client("lambda").get_function_configuration(FunctionName=name)
    return DeployedFunction(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config["Handler"],
        timeout_seconds=config["Timeout"],
        memory_mb=config["MemorySize"],
        environment=config.get("Environment", {}).get("Variables", {}),
    )


def function_name_of(arn: str) -> str:
    """arn:aws:lambda:<region>:<account>:function:<name>[:qualifier] -> <name>"""
    return arn.split(":")[6]


@dataclass
class LocalContext:
    """The parts of Lambda's context object the handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    deadline: float  # time.monotonic() at which the function's timeout would end the invocation
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@contextmanager
def running_function(function: DeployedFunction, endpoint: str) -> Iterator[Handler]:
    """The function's handler, to call with an event while the block lasts."""
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDAS_DIR))
    module_name, _, attribute = function.handler.rpartition(".")
    # The environment first: a handler module reads settings at import, as it does in Lambda.
    with lambda_environment(function, endpoint), fresh_import(module_name) as module:
        handler = getattr(module, attribute)

        def invoke(event: Any) -> Any:
            deadline = time.monotonic() + function.timeout_seconds
            return handler(event, LocalContext(function.name, function.memory_mb, function.arn, deadline))

        yield invoke


def function_environment(function: DeployedFunction, endpoint: str) -> dict[str, str]:
    return {
        **function.environment,
        # What the Lambda runtime sets for every function.
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "PATH": os.environ.get("PATH", os.defpath),
        **emulator_settings(endpoint),
    }


def emulator_settings(endpoint: str) -> dict[str, str]:
    """The emulator in place of AWS: botocore sends every client there, signed with fake keys; no
    AWS config or credentials file of this machine takes part."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_ACCESS_KEY,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@contextmanager
def lambda_environment(function: DeployedFunction, endpoint: str) -> Iterator[None]:
    """During the block os.environ holds the function's environment, what the runtime adds and the
    emulator's settings, and nothing else; it is restored afterwards."""
    variables = function_environment(function, endpoint)
    saved_environment, saved_session = dict(os.environ), boto3.DEFAULT_SESSION
    reset_clients = importlib.import_module("referrals.aws_clients").reset_clients
    os.environ.clear()
    os.environ.update(variables)
    # A fresh default session and client cache: credentials resolved earlier in this process
    # must not stand in for the function's own.
    boto3.DEFAULT_SESSION = None
    reset_clients()
    try:
        yield
    finally:
        reset_clients()
        boto3.DEFAULT_SESSION = saved_session
        os.environ.clear()
        os.environ.update(saved_environment)


@contextmanager
def fresh_import(module_name: str) -> Iterator[ModuleType]:
    """Imports the module anew; afterwards whatever was imported under that name before is back,
    so a test that imported the handler under its own environment keeps its module."""
    previous = sys.modules.pop(module_name, None)
    parent_name, _, child = module_name.rpartition(".")
    try:
        yield importlib.import_module(module_name)
    finally:
        sys.modules.pop(module_name, None)
        parent = sys.modules.get(parent_name)
        if previous is not None:
            sys.modules[module_name] = previous
            if parent is not None:
                setattr(parent, child, previous)
        elif parent is not None and hasattr(parent, child):
            delattr(parent, child)


# The API ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # the path template, e.g. /referrers/{code}
    function_name: str  # the target of its AWS_PROXY integration


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # the JSON body, numbers with a fraction as exact Decimals


def deployed_routes(deployment: LocalDeployment, api_id: str) -> list[Route]:
    apigateway = deployment.client("apigateway")
    routes = []
    for page in apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
        for resource in page["items"]:
            for method in resource.get("resourceMethods", {}):
                integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
                # arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
                function_arn = integration["uri"].split("/functions/")[1].removesuffix("/invocations")
                routes.append(Route(method, resource["path"], function_name_of(function_arn)))
    return routes


class LocalApi:
    """Requests to the deployed API's routes, each delivered as the proxy event its integration
    would send to the integrated function (running here).

    API Gateway's own checks (API key and usage plan, IAM authorization, request validation,
    throttling, WAF) do not run: what answers is the function, which validates every request
    itself. A caller that checked a request's signature (tools/local_sigv4.py) passes the signer's
    ARN, which API Gateway puts in `requestContext.identity.userArn` for an AWS_IAM method.
    """

    def __init__(self, api_id: str, stage: str, routes: list[Route], handlers: Mapping[str, Handler]) -> None:
        self.api_id, self.stage, self.routes, self.handlers = api_id, stage, routes, handlers

    def post(self, path: str, body: dict[str, Any] | str) -> ApiAnswer:
        return self.request("POST", path, body if isinstance(body, str) else json.dumps(body))

    def get(self, path: str) -> ApiAnswer:
        return self.request("GET", path, None)

    def request(self, method: str, path: str, body: str | None, caller_arn: str | None = None) -> ApiAnswer:
        """`path` may end in a query string, percent-encoded as on the wire."""
        path, _, query = path.partition("?")
        route, parameters = self._route(method, path)
        event = self._proxy_event(route, path, parameters, body)
        if query:
            multi = urllib.parse.parse_qs(query, keep_blank_values=True)
            event["multiValueQueryStringParameters"] = multi
            event["queryStringParameters"] = {name: values[-1] for name, values in multi.items()}
        if caller_arn is not None:
            event["requestContext"]["identity"]["userArn"] = caller_arn
        response = self.handlers[route.function_name](event)
        return ApiAnswer(response["statusCode"], json.loads(response["body"], parse_float=Decimal))

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in self.routes:
            parameters = _path_parameters(route.resource, path)
            if route.method == method and parameters is not None:
                return route, parameters
        raise LookupError(f"the deployed API has no route for {method} {path}")

    def _proxy_event(self, route: Route, path: str, parameters: dict[str, str], body: str | None) -> dict[str, Any]:
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": route.method,
            "headers": {"Content-Type": "application/json"} if body is not None else {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "apiId": self.api_id,
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "resourcePath": route.resource,
                "httpMethod": route.method,
                "path": f"/{self.stage}{path}",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": body,
            "isBase64Encoded": False,
        }


def _path_parameters(template: str, path: str) -> dict[str, str] | None:
    """{name: value} when the path fits the template ('/referrers/{code}'), None when it does not."""
    expected, actual = template.strip("/").split("/"), path.strip("/").split("/")
    if len(expected) != len(actual):
        return None
    parameters = {}
    for part, value in zip(expected, actual, strict=True):
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = value
        elif part != value:
            return None
    return parameters


# The schedule -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployedSchedule:
    name: str
    expression: str
    timezone: str
    target_arn: str
    input_template: str  # the target input, with Scheduler's <aws.scheduler.*> placeholders

    def event(self, scheduled_time: datetime, execution_id: str) -> Any:
        """The event Scheduler delivers for a run at scheduled_time (UTC)."""
        text = self.input_template.replace(
            "<aws.scheduler.scheduled-time>", scheduled_time.strftime(SCHEDULED_TIME_FORMAT)
        ).replace("<aws.scheduler.execution-id>", execution_id)
        return json.loads(text)


def deployed_schedule(deployment: LocalDeployment, name: str) -> DeployedSchedule:
    scheduler = deployment.client("scheduler")
    (summary,) = [summary for summary in scheduler.list_schedules()["Schedules"] if summary["Name"] == name]
    schedule = scheduler.get_schedule(GroupName=summary["GroupName"], Name=name)
    return DeployedSchedule(
        name=schedule["Name"],
        expression=schedule["ScheduleExpression"],
        timezone=schedule.get("ScheduleExpressionTimezone", "UTC"),
        target_arn=schedule["Target"]["Arn"],
        input_template=schedule["Target"]["Input"],
    )


# Event source mappings --------------------------------------------------------------------------

ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class DeployedStreamMapping:
    stream_arn: str
    function_arn: str
    batch_size: int
    retry_attempts: int  # MaximumRetryAttempts; -1: until the record expires
    reports_item_failures: bool  # FunctionResponseTypes holds ReportBatchItemFailures


def deployed_stream_mappings(deployment: LocalDeployment, stream_arn: str) -> list[DeployedStreamMapping]:
    """The event source mappings reading a stream, as the emulator stores them."""
    lambda_ = deployment.client("lambda")
    # By the stream, not by the function: moto matches FunctionName only against the exact text
    # the mapping was created with (tools/emulator_gaps.py).
    pages = lambda_.get_paginator("list_event_source_mappings").paginate(EventSourceArn=stream_arn)
    return [
        DeployedStreamMapping(
            stream_arn=mapping["EventSourceArn"],
            function_arn=mapping["FunctionArn"],
            batch_size=mapping["BatchSize"],
            retry_attempts=mapping.get("MaximumRetryAttempts", -1),
            reports_item_failures=ITEM_FAILURES in mapping.get("FunctionResponseTypes", []),
        )
        for page in pages
        for mapping in page["EventSourceMappings"]
        if mapping.get("State", "Enabled") == "Enabled"
    ]


@dataclass(frozen=True)
class Invocation:
    records: int  # how many records the batch held
    failed_from: int | None  # index in the batch Lambda would retry from; None: the batch is done


def deliver_records(mapping: DeployedStreamMapping, records: list[dict], handler: Handler) -> list[Invocation]:
    """Lambda's side of the mapping, for records already read from its stream, in order.

    Batches of the mapping's BatchSize. With ReportBatchItemFailures, a response that lists failed
    records makes Lambda checkpoint before the first of them (the lowest sequence number) and read
    the next batch from there; after MaximumRetryAttempts such retries Lambda would send the
    batch's position to the on-failure destination and move on, which here is a StepFailed. A
    handler that raises fails the step too (Lambda would retry and bisect the whole batch).
    """
    invocations: list[Invocation] = []
    position, retries = 0, 0
    while position < len(records):
        batch = records[position : position + mapping.batch_size]
        response = handler(stream_event(batch))
        failed_from = _first_failed(batch, response) if mapping.reports_item_failures else None
        invocations.append(Invocation(len(batch), failed_from))
        if failed_from is None:
            position, retries = position + len(batch), 0
            continue
        retries += 1
        if 0 <= mapping.retry_attempts < retries:
            raise StepFailed(
                f"the relay kept failing from stream record {batch[failed_from]['dynamodb']['SequenceNumber']} "
                f"({mapping.retry_attempts} retries); Lambda would send the batch's position to the mapping's "
                "on-failure destination"
            )
        position += failed_from
    return invocations


def _first_failed(batch: list[dict], response: Any) -> int | None:
    """Where Lambda retries from after a partial batch response: None when nothing failed."""
    failures = (response or {}).get("batchItemFailures") or []
    if not failures:
        return None
    numbers = [sequence_number(record) for record in batch]
    identifiers = [str(failure.get("itemIdentifier") or "") for failure in failures]
    # An identifier that is empty or names no record of the batch fails the whole batch, as on AWS.
    if not all(identifier.isdigit() and int(identifier) in numbers for identifier in identifiers):
        return 0
    return numbers.index(min(int(identifier) for identifier in identifiers))
