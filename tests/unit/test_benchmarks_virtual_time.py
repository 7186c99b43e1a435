"""benchmarks/virtual_time.py: tasks on threads that take turns in simulated time."""

import pytest

from benchmarks.virtual_time import VirtualTime


def test_tasks_start_at_their_times_and_time_moves_only_with_sleeps() -> None:
    clock = VirtualTime()
    seen: list[tuple[str, float]] = []

    def task(name: str, naps: list[float]) -> str:
        seen.append((name, clock.now))
        for nap in naps:
            clock.sleep(nap)
            seen.append((name, clock.now))
        return name

    assert clock.run([(0.010, lambda: task("late", [])), (0.0, lambda: task("early", [0.015, 0.001]))]) == [
        "late",
        "early",
    ]
    assert seen == [("early", 0.0), ("late", 0.010), ("early", 0.015), ("early", pytest.approx(0.016))]


def test_tasks_due_at_the_same_moment_run_in_the_order_they_slept() -> None:
    clock = VirtualTime()
    order: list[int] = []

    def task(n: int) -> None:
        clock.sleep(0.005)
        order.append(n)

    clock.run([(0.0, lambda n=n: task(n)) for n in range(5)])
    assert order == [0, 1, 2, 3, 4]


def test_an_error_in_a_task_is_raised_after_every_task_ended() -> None:
    clock = VirtualTime()
    finished: list[str] = []

    def fails() -> None:
        raise ValueError("broken task")

    def finishes() -> None:
        clock.sleep(1.0)
        finished.append("done")

    with pytest.raises(ValueError, match="broken task"):
        clock.run([(0.0, fails), (0.0, finishes)])
    assert finished == ["done"]
