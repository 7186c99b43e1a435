"""Record (and optionally fail) every AWS API call the Lambda code makes through referrals.aws_clients.

Hooks botocore's `before-call` event of each cached client: it fires once per API operation,
before botocore's own retries, so a count is the number of operations our code asked for.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from referrals import aws_clients

SERVICES = ("dynamodb", "s3", "sns")


class InjectedFault(Exception):
    """Raised in place of an AWS call, to simulate a crash at that point."""


@dataclass
class CallLog:
    calls: list[str] = field(default_factory=list)  # "service:Operation", e.g. "dynamodb:GetItem"
    fail_at: int | None = None  # 1-based index of the call to fail, if any
    fault: Callable[[str], Exception] = InjectedFault

    def before_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise self.fault(f"injected fault at call {self.fail_at}: {name}")

    @property
    def actions(self) -> set[str]:
        return set(self.calls)


@contextmanager
def recorded_calls(fail_at: int | None = None) -> Iterator[CallLog]:
    log = CallLog(fail_at=fail_at)
    clients = [aws_clients.client(service) for service in SERVICES]
    for client in clients:
        client.meta.events.register("before-call", log.before_call, unique_id="aws-call-log")
    try:
        yield log
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", unique_id="aws-call-log")
