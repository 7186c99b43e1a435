"""Run a command in a fresh process and measure its wall time and memory, children included.

Memory comes from /proc, sampled while the process runs, two ways because they differ here:
the peak of the largest single process (its VmHWM, the kernel's own high-water mark) and the
peak of the whole tree's summed RSS (Python plus jsii's Node process). Not wait4's ru_maxrss:
Linux carries it over from the parent at fork, so a small child of a large parent reports the
parent's size.
"""

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    largest_peak_mib: float  # the highest VmHWM of any process of the tree
    tree_peak_mib: float  # the highest sampled sum of VmRSS over the tree
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Memory:
    rss_kib: int  # resident now
    peak_kib: int  # VmHWM: the most it has been resident


def memory(pid: int | str = "self") -> Memory:
    """This process's (or pid's) memory; zero once it has ended."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    except (OSError, ValueError):
        pass  # ended between two reads
    return Memory(fields.get("VmRSS", 0), fields.get("VmHWM", 0))


def run_fresh(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float = 600) -> ProcessRun:
    # Files, not pipes: the child can never block on a full pipe while we only sample it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=err, text=True)
        sampler = _TreeSampler(process.pid)
        sampler.start()
        try:
            returncode = process.wait(timeout_s)
        finally:
            wall = time.perf_counter() - start
            process.kill()  # only does anything on a timeout
            sampler.stop()
        out.seek(0)
        err.seek(0)
        return ProcessRun(
            wall_s=wall,
            largest_peak_mib=max(sampler.peaks_kib.values(), default=0) / 1024,
            tree_peak_mib=sampler.tree_peak_kib / 1024,
            returncode=returncode,
            stdout=out.read(),
            stderr=err.read(),
        )


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks_kib: dict[int, int] = {}
        self.tree_peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            now = {pid: memory(pid) for pid in _tree(self.pid)}
            for pid, sample in now.items():
                self.peaks_kib[pid] = max(self.peaks_kib.get(pid, 0), sample.peak_kib)
            self.tree_peak_kib = max(self.tree_peak_kib, sum(sample.rss_kib for sample in now.values()))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        pending.extend(_children(pid))
    return pids


def _children(pid: int) -> list[int]:
    children = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        return []  # the process ended between two reads
    return children
