"""Section 2: a handler's cold start is its module import, measured in a fresh interpreter.

Lambda imports the handler module from the zip: our modules have no bytecode cache there (the zip
leaves __pycache__ out and /var/task is read-only), so they are copied, as the zip holds them, to
a fresh directory and imported with -B; boto3 and Powertools keep their installed caches, as the
runtime and the layer provide them. The baseline is `import boto3` alone, in the same way.

The interpreter starts with -S and finds the installed packages through PYTHONPATH: Lambda's
runtime has none of this virtualenv's .pth files, and one of them (setuptools' finder for the
editable `referrals` CLI) sat in front of every import and added 10-20 % to each handler's time.
"""

import os
import shutil
import site
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.paths import LAMBDAS_DIR
from benchmarks.processes import run_fresh
from stacks.lambda_package import zip_entries

SHARED_PACKAGE = "referrals"
BASELINE = "boto3"
HANDLERS = {
    "reward calculator": "reward_calculator",
    "payout processor": "payout_processor",
    "event relay": "event_relay",
}
# What the stack gives each function, as far as anything reads it at import.
FUNCTION_ENVIRONMENT = {
    "REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "ReferralProgram",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "REFERRAL_TABLE_NAME": "referral-tracking-bench",
    "SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:reward-notifications-bench",
    # Checked at import (the shared-e-mail signal is on by default); KMS is first called at a signup.
    "REVIEW_EMAIL_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/bench",
}
TIMED_IMPORT = "import time; s = time.perf_counter(); import {module}; print(time.perf_counter() - s)"


@dataclass(frozen=True)
class ImportFigures:
    median_s: float
    ratio_to_boto3: float
    s_per_run: list[float]  # in the order they ran, to show the spread


def measure_cold_starts(runs: int) -> dict[str, ImportFigures]:
    """The baseline's figures and each handler's, by name.

    The modules take turns, run by run, so a slow spell of the machine falls on all of them.
    """
    modules = {BASELINE: BASELINE} | {name: f"{package}.handler" for name, package in HANDLERS.items()}
    seconds: dict[str, list[float]] = {name: [] for name in modules}
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as directory:
        task_root = Path(directory)
        for package in HANDLERS.values():
            _unpack(package, task_root)
        for _ in range(runs):
            for name, module in modules.items():
                seconds[name].append(_import_seconds(module, task_root))
    baseline = statistics.median(seconds[BASELINE])
    return {
        name: ImportFigures(statistics.median(s), statistics.median(s) / baseline, [round(x, 4) for x in s])
        for name, s in seconds.items()
    }


def _unpack(package: str, task_root: Path) -> None:
    """The files the function's zip holds (stacks/lambda_package.py picks them), at the zip root."""
    for name, path in zip_entries([LAMBDAS_DIR / package, LAMBDAS_DIR / SHARED_PACKAGE]):
        target = task_root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _import_seconds(module: str, task_root: Path) -> float:
    command = [sys.executable, "-B", "-S", "-c", TIMED_IMPORT.format(module=module)]
    search_path = os.pathsep.join([str(task_root), *site.getsitepackages()])
    run = run_fresh(command, task_root, FUNCTION_ENVIRONMENT | {"PYTHONPATH": search_path})
    if run.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{run.stderr[-2000:]}")
    return float(run.stdout.strip())
