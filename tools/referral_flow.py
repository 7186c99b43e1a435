"""The demo's story, shared with tests/e2e, told through the deployed API and schedules.

Two referrers enrol; friends sign up with their codes (alice's 12 pass the 5th- and 10th-referral
tiers); one request of each refused kind; statistics. Then the monthly payout, started with its
schedule's own input as if it fired right after the signups; the same run again, which pays
nothing twice; the deadline check's schedule input, which finds the payout completed; the CSV
report from the bucket; statistics once more.

After the signups and again after the payout, the event relay runs on what both tables' streams
gained meanwhile, as their event source mappings would deliver it (tools/local_lambda.py); a
queue subscribed to the reward topic from the start receives what it published
(tools/local_notifications.py).
"""

import csv
import io
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.local_lambda import (
    ApiAnswer,
    DeployedStreamMapping,
    Invocation,
    LocalApi,
    deliver_records,
    deployed_function,
    deployed_routes,
    deployed_schedule,
    deployed_stream_mappings,
    function_name_of,
    running_function,
)
from tools.local_notifications import Notification, subscribed_queue
from tools.local_stack import LOCAL_SUFFIX, LocalDeployment, Phase, StepFailed, quiet_phase
from tools.local_streams import StreamReader, table_stream_arn

REFERRALS = {"alice": 12, "bob": 2}  # friends each referrer brings
UNKNOWN_CODE = "nobody"
PAYOUT_SCHEDULE = f"monthly-payout-{LOCAL_SUFFIX}"
DEADLINE_SCHEDULE = f"payout-deadline-check-{LOCAL_SUFFIX}"


@dataclass(frozen=True)
class Exchange:
    """One API request and its answer."""

    method: str
    path: str
    body: dict[str, Any] | str | None
    answer: ApiAnswer


@dataclass(frozen=True)
class SignupResults:
    enrolments: list[Exchange]
    signups: list[Exchange]
    refusals: list[Exchange]  # bad body, unknown code, already signed up
    stats: list[Exchange]


@dataclass(frozen=True)
class PayoutResults:
    event: dict[str, Any]  # the payout schedule's input, as Scheduler would fill it in
    answer: dict[str, Any]  # the payout function's answer
    repeat: dict[str, Any]  # its answer to the same event delivered again
    deadline_check: dict[str, Any]  # its answer to the deadline schedule's input for the same month
    report: str  # the CSV the payout wrote to the bucket

    def report_rows(self) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.report)))


@dataclass(frozen=True)
class RelayRun:
    """One run of the relay on what the streams gained since the last one."""

    records: dict[str, int]  # table -> stream records read
    invocations: list[Invocation]  # the batches handed to the relay, in order (retries included)

    @property
    def failed(self) -> int:
        """Invocations whose response listed failed records (each retried from the first of them)."""
        return sum(invocation.failed_from is not None for invocation in self.invocations)


@dataclass(frozen=True)
class RelayResults:
    after_signups: RelayRun
    after_payout: RelayRun
    batch_sizes: list[int]  # BatchSize of each mapping, as deployed
    notifications: list[Notification]  # what the queue subscribed to the reward topic received


@dataclass(frozen=True)
class FlowResult:
    signups: SignupResults
    payout: PayoutResults
    stats_after: list[Exchange]
    relay: RelayResults


def friend_of(referrer: str, number: int) -> str:
    return f"{referrer}-friend-{number:02d}"


def run_flow(deployment: LocalDeployment, phase: Phase = quiet_phase) -> FlowResult:
    reward = deployed_function(deployment, deployment.outputs["reward-calc-lambda-name"])
    feeds = _stream_feeds(deployment)
    with subscribed_queue(deployment, deployment.outputs["sns-topic"]) as inbox:
        with running_function(reward, deployment.endpoint) as reward_handler:
            signups = sign_up_everyone(_api(deployment, {reward.name: reward_handler}), phase)
        after_signups = relay(deployment, feeds, phase)
        payout = pay_out(deployment, phase)
        after_payout = relay(deployment, feeds, phase)
        with phase("inbox", "receive what the queue subscribed to the reward topic got"):
            notifications = inbox.receive_all()
    with running_function(reward, deployment.endpoint) as reward_handler:
        stats_after = _stats(_api(deployment, {reward.name: reward_handler}))
    relayed = RelayResults(after_signups, after_payout, [feed.mapping.batch_size for feed in feeds], notifications)
    return FlowResult(signups, payout, stats_after, relayed)


def sign_up_everyone(api: LocalApi, phase: Phase) -> SignupResults:
    with phase("enrol", f"POST /signup without a code, for {' and '.join(REFERRALS)}"):
        enrolments = [_post(api, {"userId": code, "email": f"{code}@example.com"}) for code in REFERRALS]
    with phase("signups", f"{sum(REFERRALS.values())} friends sign up with a referral code"):
        signups = [
            _post(api, {"userId": friend, "referralCode": code, "email": f"{friend}@example.com"})
            for code, friends in REFERRALS.items()
            for friend in (friend_of(code, n) for n in range(1, friends + 1))
        ]
    with phase("errors", "one of each refusal: bad body, unknown code, already signed up"):
        refusals = [
            _post(api, '{"userId": "carol", "referralCode": '),  # cut off: not JSON
            _post(api, {"userId": "dave", "referralCode": UNKNOWN_CODE}),
            _post(api, {"userId": friend_of("alice", 1), "referralCode": "bob"}),  # alice referred them already
        ]
    with phase("stats", "GET /referrers/{code}"):
        stats = _stats(api)
    return SignupResults(enrolments, signups, refusals, stats)


def pay_out(deployment: LocalDeployment, phase: Phase) -> PayoutResults:
    schedule = deployed_schedule(deployment, PAYOUT_SCHEDULE)
    deadline = deployed_schedule(deployment, DEADLINE_SCHEDULE)
    payout = deployed_function(deployment, function_name_of(schedule.target_arn))
    with (
        running_function(payout, deployment.endpoint) as payout_handler,
        phase("payout", f"the schedule's input ({schedule.expression}), as if it fired now"),
    ):
        scheduled = _next_whole_second()
        event = schedule.event(scheduled, execution_id=str(uuid.uuid4()))
        answer = payout_handler(event)
        repeat = payout_handler(event)
        # Its real run is an hour later, but a time in the future is refused; the month is the same.
        deadline_check = payout_handler(deadline.event(scheduled, execution_id=str(uuid.uuid4())))
    with phase("report", "download the CSV report from the bucket"):
        report = _download(deployment, answer["reportLocation"])
    return PayoutResults(event, answer, repeat, deadline_check, report)


@dataclass(frozen=True)
class _StreamFeed:
    """One table's stream, the mapping that feeds a function from it, and where its reading stopped."""

    table: str
    mapping: DeployedStreamMapping
    reader: StreamReader


def _stream_feeds(deployment: LocalDeployment) -> list[_StreamFeed]:
    """A reader per event source mapping of the two tables' streams, from the oldest record kept."""
    dynamodb = deployment.client("dynamodb")
    streams = deployment.client("dynamodbstreams")
    feeds = []
    for output in ("referral-table-name", "idempotency-table-name"):
        table = deployment.outputs[output]
        stream_arn = table_stream_arn(dynamodb, table)
        mappings = deployed_stream_mappings(deployment, stream_arn)
        if not mappings:
            raise StepFailed(f"no enabled event source mapping reads the stream of {table} ({stream_arn})")
        feeds += [_StreamFeed(table, mapping, StreamReader(streams, stream_arn)) for mapping in mappings]
    return feeds


def relay(deployment: LocalDeployment, feeds: list[_StreamFeed], phase: Phase = quiet_phase) -> RelayRun:
    """Each mapping's function (the relay) on the records its stream gained since the last run."""
    records: dict[str, int] = {}
    invocations: list[Invocation] = []
    with phase("relay", "the event relay on both tables' new stream records, batched as their mappings say"):
        for feed in feeds:
            new_records = feed.reader.new_records()
            records[feed.table] = records.get(feed.table, 0) + len(new_records)
            if not new_records:
                continue  # Lambda invokes nothing for a stream with nothing new
            function = deployed_function(deployment, function_name_of(feed.mapping.function_arn))
            with running_function(function, deployment.endpoint) as handler:
                invocations += deliver_records(feed.mapping, new_records, handler)
    return RelayRun(records, invocations)


def _api(deployment: LocalDeployment, handlers: dict[str, Any]) -> LocalApi:
    api_id = deployment.outputs["api-gateway-id"]
    stage = deployment.outputs["api-endpoint"].rstrip("/").rsplit("/", 1)[-1]
    return LocalApi(api_id, stage, deployed_routes(deployment, api_id), handlers)


def _post(api: LocalApi, body: dict[str, Any] | str) -> Exchange:
    return Exchange("POST", "/signup", body, api.post("/signup", body))


def _stats(api: LocalApi) -> list[Exchange]:
    return [Exchange("GET", f"/referrers/{code}", None, api.get(f"/referrers/{code}")) for code in REFERRALS]


def _next_whole_second() -> datetime:
    """The next whole second (Scheduler's times have no fraction), once it has passed.

    The payout pays the rewards created before its scheduled time and refuses a time in the
    future; this one is after every signup above and not ahead of the clock.
    """
    now = datetime.now(UTC)
    scheduled = now.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep((scheduled - now).total_seconds())
    return scheduled


def _download(deployment: LocalDeployment, location: str) -> str:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    body: bytes = deployment.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")
