"""Section 1: a cold `python main.py`, before and after the provider-import trick.

Each run is a fresh process in a fresh working directory, so the only warm things are the
operating system's file cache and jsii's package cache (~/.cache/aws/jsii), as for a user's
second synth. All variants must write byte-identical output; the benchmark checks that too.
"""

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.paths import PROJECT_ROOT
from benchmarks.processes import ProcessRun, run_fresh
from benchmarks.synth_child import MAIN, STACK_NAME

# Only what running Python and Node needs: no stack setting from the caller's shell, so every
# run synthesizes the default configuration.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
DESCRIPTIONS = {
    "stock": "stock provider import (no skip)",
    "python-skip": "Python __init__ skipped (before)",
    "current": "Python __init__ + Node index skipped (now)",
}


@dataclass(frozen=True)
class VariantFigures:
    variant: str
    description: str
    runs: int
    median_wall_s: float
    median_largest_peak_mib: float
    median_tree_peak_mib: float
    wall_s_per_run: list[float]  # in the order they ran, to show the spread
    output_sha256: str  # of cdktf.out/stacks/tap-stack: cdk.tf.json and the Lambda zips
    phases_s: dict[str, float]  # in order, adding up to the wall time of one instrumented run
    lambda_zips_s: float  # part of construct building


def measure_synthesis(runs_per_variant: dict[str, int]) -> list[VariantFigures]:
    """Variants take turns, run by run, so a slow spell of the machine falls on all of them."""
    results: dict[str, list[ProcessRun]] = {variant: [] for variant in runs_per_variant}
    digests: dict[str, set[str]] = {variant: set() for variant in runs_per_variant}
    for turn in range(max(runs_per_variant.values())):
        for variant, runs in runs_per_variant.items():
            if turn < runs:
                with tempfile.TemporaryDirectory(prefix="bench-synth-") as cwd:
                    results[variant].append(_checked(run_fresh(_command(variant), Path(cwd), _environment())))
                    digests[variant].add(_output_digest(Path(cwd)))
    return [_figures(variant, results[variant], digests[variant]) for variant in runs_per_variant]


def _figures(variant: str, results: list[ProcessRun], digests: set[str]) -> VariantFigures:
    if len(digests) != 1:
        raise RuntimeError(f"{variant}: runs wrote different output")
    return VariantFigures(
        variant=variant,
        description=DESCRIPTIONS[variant],
        runs=len(results),
        median_wall_s=statistics.median(r.wall_s for r in results),
        median_largest_peak_mib=statistics.median(r.largest_peak_mib for r in results),
        median_tree_peak_mib=statistics.median(r.tree_peak_mib for r in results),
        wall_s_per_run=[round(r.wall_s, 3) for r in results],
        output_sha256=digests.pop(),
        **_phases(variant),
    )


def _command(variant: str) -> list[str]:
    if variant == "current":
        return [sys.executable, str(MAIN)]  # exactly what `make synth` runs
    return [sys.executable, "-m", "benchmarks.synth_child", variant]


def _environment(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    return env | {"PYTHONPATH": str(PROJECT_ROOT), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"} | extra


def _phases(variant: str) -> dict[str, Any]:
    """One instrumented run: where the time goes; `exit` is what remains of the wall time."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-phases-") as cwd:
        command = [sys.executable, "-m", "benchmarks.synth_child", variant, "--phases"]
        run = _checked(run_fresh(command, Path(cwd), _environment(BENCH_SPAWN_EPOCH=repr(time.time()))))
    timed = json.loads(run.stdout.strip().splitlines()[-1])
    phases = timed["phases"] | {"exit (Node and interpreter shutdown)": run.wall_s - sum(timed["phases"].values())}
    return {"phases_s": phases | {"total": run.wall_s}, "lambda_zips_s": timed["parts"]["Lambda zips"]}


def _checked(run: ProcessRun) -> ProcessRun:
    if run.returncode != 0:
        raise RuntimeError(f"synth failed with status {run.returncode}:\n{run.stderr[-2000:]}")
    return run


def _output_digest(cwd: Path) -> str:
    stack_dir = cwd / "cdktf.out" / "stacks" / STACK_NAME
    digest = hashlib.sha256()
    for path in sorted(p for p in stack_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(stack_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
