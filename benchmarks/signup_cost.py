"""Section 3: AWS calls per successful signup, alone and with 20 signups for one referrer at once.

Every signup gives an e-mail address, so its commit claims the referee's e-mail key (the
shared-e-mail review signal, on by default); the referrer's enrolment, with an address too, is
the container's first e-mail and derives the e-mail key secret (its one KMS call).

The reward function's calls only: the notification is the stream relay's work, on its own
function, after the commit (no call on the signup's path).

Against moto in this process, serialised with a lock as tests/lambdas/test_reward_concurrency.py
does (moto's backends are not thread-safe; one request at a time is also how a single DynamoDB
item serialises writes). Calls are counted by botocore's before-call event (tests/lambdas/
aws_calls.py): one per operation our code asks for, botocore's own retries not included.
"""

import io
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber

from benchmarks.emulated_aws import emulated_aws
from reward_calculator import handler as reward
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.reward_api import captured_logs, sign_up

REFERRER = "referrer"
OK, BUSY = 200, 503  # BUSY: the signup gave up after its retry bound


@dataclass(frozen=True)
class ContendedTrial:
    signups: int
    succeeded: int
    rejected_busy: int  # answered BUSY
    calls: int
    transactions: int  # TransactWriteItems attempts
    commit_ms: list[float]  # each TransactWriteItems, as the caller waited for it (wall clock)

    @property
    def calls_per_success(self) -> float:
        return self.calls / self.succeeded if self.succeeded else float("inf")


@dataclass(frozen=True)
class SignupFigures:
    happy_path_calls: list[str]
    trials: list[ContendedTrial]

    @property
    def mean_calls_under_contention(self) -> float:
        """Over all trials: every call made / every signup that succeeded."""
        return sum(t.calls for t in self.trials) / sum(t.succeeded for t in self.trials)

    @property
    def median_commit_ms(self) -> float:
        """How long a commit took here, waiting for the lock and the other threads included: the
        T this emulator shows the signup queue (DynamoDB's is 10-30 ms)."""
        return statistics.median(ms for t in self.trials for ms in t.commit_ms)


def measure_signups(trials: int, concurrent: int) -> SignupFigures:
    with _quiet():
        return SignupFigures(_happy_path(), [_contended(concurrent) for _ in range(trials)])


def _happy_path() -> list[str]:
    with emulated_aws():
        sign_up(REFERRER, email=f"{REFERRER}@example.com")
        with recorded_calls() as log:
            status, _ = sign_up("new-user", REFERRER, "new-user@example.com")
    if status != OK:
        raise RuntimeError(f"happy-path signup answered {status}")
    return log.calls


def _contended(concurrent: int) -> ContendedTrial:
    commit_ms: list[float] = []
    with emulated_aws(), _one_request_at_a_time(commit_ms):
        sign_up(REFERRER, email=f"{REFERRER}@example.com")
        with recorded_calls() as log, ThreadPoolExecutor(concurrent) as pool:
            answers = pool.map(lambda n: sign_up(f"user-{n}", REFERRER, f"user-{n}@example.com"), range(concurrent))
            statuses = [status for status, _ in answers]
    if set(statuses) - {OK, BUSY}:
        raise RuntimeError(f"unexpected answers under contention: {sorted(set(statuses))}")
    return ContendedTrial(
        signups=concurrent,
        succeeded=statuses.count(OK),
        rejected_busy=statuses.count(BUSY),
        calls=len(log.calls),
        transactions=log.calls.count("dynamodb:TransactWriteItems"),
        commit_ms=commit_ms,
    )


@contextmanager
def _one_request_at_a_time(commit_ms: list[float]) -> Iterator[None]:
    """Serialise moto's requests, and time each commit (appended to `commit_ms`)."""
    lock = threading.Lock()
    emulate = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, event_name: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        with lock:
            answer = emulate(self, event_name, *args, **kwargs)
        if event_name.endswith("TransactWriteItems"):
            commit_ms.append((time.perf_counter() - started) * 1000)
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BotocoreStubber, "__call__", serialised)
        # Powertools' metric set is one per container; a Lambda serves one request at a time.
        patch.setattr(reward, "metrics", SimpleNamespace(metric_set={}, add_metric=lambda **_: None))
        yield


@contextmanager
def _quiet() -> Iterator[None]:
    """The handler's JSON logs and metrics would bury the table."""
    with captured_logs(), redirect_stdout(io.StringIO()):
        yield
