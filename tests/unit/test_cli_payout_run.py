"""`referrals payout run`: invoke the payout function until the month is paid, resuming as it asks."""

from typing import Any

import pytest

from referrals_cli.deployed_code import FunctionAnswer
from referrals_cli.errors import CliError
from referrals_cli.payouts import MAX_INVOCATIONS, PayoutWatch, RunRecord, run_payout

FUNCTION = "payout-processing-dev"
MONTH = "2026-11"
COMPLETED = {"status": "completed", "payoutId": "payout-2026-11", "rewardsPaid": 3, "totalAmount": "35.40"}
INCOMPLETE = FunctionAnswer(
    {"errorType": "PayoutIncomplete", "errorMessage": "payout-2026-11: 29000 ms left before claiming rewards"},
    "Unhandled",
)


def record(status: str = "in_progress", lease_expires_at: int | None = 1_000) -> RunRecord:
    return RunRecord("payout-2026-11", status, 900, None, 1_000_000, "req/abc", lease_expires_at, None)


class Clock:
    """A fake clock that `sleep` moves forward; records what was shown."""

    def __init__(self, records: list[RunRecord | None]) -> None:
        self.now, self.records = 990.0, records
        self.lines: list[str] = []
        self.waits: list[str] = []
        self.slept: list[float] = []

    def watch(self) -> PayoutWatch:
        return PayoutWatch(
            read_record=lambda: self.records[0] if len(self.records) == 1 else self.records.pop(0),
            claimed=lambda: 250,
            say=self.lines.append,
            waiting=self.waits.append,
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answering(*answers: FunctionAnswer) -> tuple[list[dict[str, Any]], Any]:
    events: list[dict[str, Any]] = []
    queue = list(answers)

    def invoke(function: str, event: dict[str, Any]) -> FunctionAnswer:
        assert function == FUNCTION
        events.append(event)
        return queue.pop(0)

    return events, invoke


def test_a_payout_that_completes_at_once_is_invoked_once_with_the_manual_event() -> None:
    clock = Clock([None])
    events, invoke = answering(FunctionAnswer(COMPLETED))

    result = run_payout(MONTH, FUNCTION, invoke, clock.watch())

    assert (result.answer, result.invocations) == (COMPLETED, 1)
    assert events == [{"payoutMonth": MONTH}]
    assert clock.slept == []


def test_time_running_low_resumes_once_the_released_lease_lapses() -> None:
    """PayoutIncomplete: the function released its lease for 10 s; the next invocation carries on."""
    clock = Clock([record(lease_expires_at=1_000)])
    events, invoke = answering(INCOMPLETE, FunctionAnswer(COMPLETED))

    result = run_payout(MONTH, FUNCTION, invoke, clock.watch())

    assert result.invocations == 2
    assert events == [{"payoutMonth": MONTH}] * 2
    assert clock.now >= 1_001  # not before the lease (plus a second) has lapsed
    assert sum(clock.slept) == pytest.approx(11)
    assert clock.waits[-1].startswith("250 rewards claimed so far; the lease lapses in ")
    assert any("time ran low, stopped cleanly" in line for line in clock.lines)


def test_another_invocation_holding_the_lease_is_waited_for_until_it_completes() -> None:
    clock = Clock([record(lease_expires_at=2_000), record(lease_expires_at=2_000), record("completed", None)])
    held = FunctionAnswer({"status": "in_progress_elsewhere", "payoutId": "payout-2026-11"})
    already = FunctionAnswer({**COMPLETED, "status": "already_completed"})
    _, invoke = answering(held, already)

    result = run_payout(MONTH, FUNCTION, invoke, clock.watch())

    assert (result.answer["status"], result.invocations) == ("already_completed", 2)
    assert clock.slept == [5.0, 5.0]  # polled while the other one ran, stopped when it completed


def test_a_function_error_other_than_running_out_of_time_stops_with_its_message() -> None:
    failed = FunctionAnswer({"errorType": "TransactionRetriesExhausted", "errorMessage": "chunk 3"}, "Unhandled")
    _, invoke = answering(failed)

    with pytest.raises(CliError, match=r"^payout-processing-dev failed: TransactionRetriesExhausted: chunk 3$"):
        run_payout(MONTH, FUNCTION, invoke, Clock([None]).watch())


def test_an_answer_of_no_known_status_is_an_error() -> None:
    _, invoke = answering(FunctionAnswer({"status": "weird"}))

    with pytest.raises(CliError, match="unexpected answer"):
        run_payout(MONTH, FUNCTION, invoke, Clock([None]).watch())


def test_it_gives_up_after_a_bounded_number_of_invocations() -> None:
    clock = Clock([None])
    events, invoke = answering(*[INCOMPLETE] * MAX_INVOCATIONS)

    with pytest.raises(CliError, match=f"still incomplete after {MAX_INVOCATIONS} invocations; run `referrals payout"):
        run_payout(MONTH, FUNCTION, invoke, clock.watch())
    assert len(events) == MAX_INVOCATIONS
