"""Section 5: the whole test suite's wall time, as `make test` runs it, in a process of its own."""

import os
import sys
from dataclasses import dataclass

from benchmarks.paths import PROJECT_ROOT
from benchmarks.processes import run_fresh


@dataclass(frozen=True)
class SuiteFigures:
    wall_s: float
    returncode: int
    summary: str  # pytest's last line, e.g. "150 passed, 2 skipped in 95.1s"


def measure_suite() -> SuiteFigures:
    run = run_fresh([sys.executable, "-m", "pytest", "-q"], PROJECT_ROOT, os.environ, timeout_s=3600)
    lines = run.stdout.strip().splitlines()
    return SuiteFigures(run.wall_s, run.returncode, lines[-1].strip("= ") if lines else run.stderr[-500:])
