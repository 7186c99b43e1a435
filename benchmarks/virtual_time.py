"""Simulated time for the contention model: threads take turns, and time moves only while all wait.

Every signup runs on a thread of its own through the real code, but only one thread runs at a
time: the one whose wake-up is due first. It runs until it sleeps (a pause of the signup queue, or
the latency the conflict model gives an AWS call) or ends, then hands the turn on. The clock then
jumps to the next wake-up. So 5 s of signups take as long as the Python code and moto take,
whatever else the machine runs, and a trial is repeatable: the same seed gives the same calls in
the same order. Code runs in no time at all, which docs/design.md counts among the model's
optimistic sides (a Lambda's own few milliseconds are not in the latency).

Only `sleep` may block a thread. A thread that blocks on anything else while it has the turn
(a lock another waiting thread holds) would stop the run; the signup path holds no lock across a
sleep or an AWS call.
"""

import heapq
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class VirtualTime:
    now: float = 0.0  # seconds since the run started
    _wakeups: list[tuple[float, int, threading.Event]] = field(default_factory=list)
    _order: Any = field(default_factory=itertools.count)  # ties wake in the order they slept
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _unfinished: int = 0
    _done: threading.Event = field(default_factory=threading.Event)

    def sleep(self, seconds: float) -> None:
        """Give up the turn until `seconds` of simulated time have passed."""
        wake = threading.Event()
        with self._lock:
            heapq.heappush(self._wakeups, (self.now + max(0.0, seconds), next(self._order), wake))
            self._hand_on()
        wake.wait()

    def run(self, tasks: Sequence[tuple[float, Callable[[], Any]]], timeout_s: float = 600) -> list[Any]:
        """Run each (start time, function) on a thread of its own; their results in task order.

        An exception in a task is raised here after every task has ended."""
        results: list[Any] = [None] * len(tasks)
        errors: list[BaseException] = []

        def body(index: int, start: threading.Event, function: Callable[[], Any]) -> None:
            start.wait()
            try:
                results[index] = function()
            except BaseException as error:  # handed to the caller below, after every task has ended
                errors.append(error)
            finally:
                with self._lock:
                    self._unfinished -= 1
                    self._hand_on()

        threads = []
        with self._lock:
            self._done.clear()
            self._unfinished = len(tasks)
            for index, (start_s, function) in enumerate(tasks):
                start = threading.Event()
                heapq.heappush(self._wakeups, (self.now + start_s, next(self._order), start))
                threads.append(threading.Thread(target=body, args=(index, start, function), daemon=True))
        for thread in threads:
            thread.start()
        with self._lock:
            self._hand_on()
        if not self._done.wait(timeout_s):
            raise TimeoutError(f"simulated run did not end within {timeout_s} s (a thread blocked outside sleep?)")
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def _hand_on(self) -> None:
        # Called with the lock held by the thread giving up its turn (or by run() to start).
        if self._wakeups:
            due, _, wake = heapq.heappop(self._wakeups)
            self.now = max(self.now, due)
            wake.set()
        elif self._unfinished == 0:
            self._done.set()
