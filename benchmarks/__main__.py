"""`python -m benchmarks [--quick] [--skip-suite] [--only SECTION]`: run the sections, print the table, write JSON.

The JSON goes to build/bench.json, or build/bench-quick.json in quick mode (with --only, to
build/bench[-quick]-SECTION.json). Full mode takes a few minutes plus the test suite; --quick
(small sizes, few repetitions, no suite) is what CI runs so the benchmark cannot rot. Exit
status: 0, or 1 when it crashes or a count that is the same on every run misses its goal
(report.py says which); never for a timing.
"""

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass

from benchmarks.paths import IMPORT_PATHS, PROJECT_ROOT

sys.path[:0] = [path for path in IMPORT_PATHS if path not in sys.path]  # the handlers import `referrals`

from tests.lambdas.fake_aws import KEY_ARN_AT_IMPORT  # noqa: E402 - needs the project root on sys.path

# The reward handler refuses a cold start without its e-mail key's ARN, which the stack always
# gives it; emulated_aws.py points it at the emulated key.
os.environ.setdefault("REVIEW_EMAIL_KEY_ARN", KEY_ARN_AT_IMPORT)

from benchmarks import report  # noqa: E402 - needs the Lambda zip root on sys.path
from benchmarks.cold_start import measure_cold_starts  # noqa: E402
from benchmarks.conflict_model import Timing  # noqa: E402
from benchmarks.machine import load_average, machine_facts  # noqa: E402
from benchmarks.payout_cost import measure_payouts  # noqa: E402
from benchmarks.signup_contention import BURST, STREAM, Workload, measure_contention  # noqa: E402
from benchmarks.signup_cost import measure_signups  # noqa: E402
from benchmarks.suite import measure_suite  # noqa: E402
from benchmarks.synthesis import measure_synthesis  # noqa: E402
from reward_calculator.handler import TIERS  # noqa: E402

# Quick runs (CI) write their own file, so they never replace the figures of a full run.
JSON_PATHS = {"full": PROJECT_ROOT / "build" / "bench.json", "quick": PROJECT_ROOT / "build" / "bench-quick.json"}
CONCURRENT_SIGNUPS = 20


SECTIONS = ("synthesis", "cold-start", "signup", "payout", "suite")
# Under the conflict model: T in {10, 20, 30} ms, each workload (more trials where the goals are);
# then, as a warning rather than a goal, both workloads with every call's time varying by +-50 %
# (outside the model).
ModelCells = list[tuple[Workload, Timing, int]]
FULL_CONTENTION: ModelCells = [
    *[
        (workload, Timing(t_ms / 1000), trials)
        for t_ms in (10, 20, 30)
        for workload, trials in ((BURST, 10 if t_ms == 20 else 5), (STREAM, 3 if t_ms == 20 else 2))
    ],
    (BURST, Timing(0.020, spread=0.5), 3),
    (STREAM, Timing(0.020, spread=0.5), 3),
]
QUICK_CONTENTION: ModelCells = [(BURST, Timing(0.020), 1), (STREAM, Timing(0.020), 1)]


@dataclass(frozen=True)
class Mode:
    name: str
    synth_runs: dict[str, int]  # fresh processes per variant; the current state gets the most
    import_runs: int  # per module; one import varies by a third from run to run on these machines
    signup_trials: int
    contention: ModelCells
    payout_sizes: tuple[int, ...]


FULL = Mode("full", {"stock": 3, "python-skip": 3, "current": 5}, 20, 10, FULL_CONTENTION, (1_000, 10_000))
QUICK = Mode("quick", {"current": 1}, 3, 1, QUICK_CONTENTION, (100,))


Measured = tuple[list[report.Row], dict]  # table rows, and what the section adds to the JSON


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions, no test suite")
    parser.add_argument("--skip-suite", action="store_true", help="leave out the test suite's wall time")
    parser.add_argument("--only", choices=SECTIONS, help="run this section alone")
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    skip_suite = args.quick or args.skip_suite
    sections = [args.only] if args.only else [s for s in SECTIONS if not (s == "suite" and skip_suite)]
    json_path = JSON_PATHS[mode.name]
    if args.only:
        json_path = json_path.with_name(f"{json_path.stem}-{args.only}.json")
    facts = machine_facts() | {"mode": mode.name, "sections": sections}

    rows: list[report.Row] = []
    document: dict = {"machine": facts}
    for section in sections:
        section_rows, section_json = MEASURES[section](mode)
        rows += section_rows
        document |= section_json
    if args.only is None and skip_suite:
        rows += report.suite_rows(None)
        document["suite"] = None
    facts["load_average_at_end"] = load_average()

    print(_machine_line(facts))
    print(report.render(rows))
    document["rows"] = [dataclasses.asdict(row) for row in rows]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten: {json_path}")
    failed = [row.measure.strip() for row in rows if row.fails_run]
    if failed:
        print(f"count goals missed: {'; '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _synthesis(mode: Mode) -> Measured:
    _progress("synthesis")
    synthesis = measure_synthesis(mode.synth_runs)
    return report.synthesis_rows(synthesis), {"synthesis": [dataclasses.asdict(v) for v in synthesis]}


def _cold_start(mode: Mode) -> Measured:
    _progress("handler cold start")
    cold_starts = measure_cold_starts(mode.import_runs)
    figures = {name: dataclasses.asdict(f) for name, f in cold_starts.items()}
    return report.cold_start_rows(cold_starts, mode.import_runs), {"cold_start": figures}


def _signup(mode: Mode) -> Measured:
    _progress("signup cost")
    signups = measure_signups(mode.signup_trials, CONCURRENT_SIGNUPS)
    _progress("signup cost under the conflict model")
    cells = measure_contention(mode.contention, TIERS)
    rows = [*report.signup_rows(signups, CONCURRENT_SIGNUPS), *report.contention_rows(cells)]
    moto = dataclasses.asdict(signups) | {"mean_calls_under_contention": signups.mean_calls_under_contention}
    model = [
        dataclasses.asdict(cell)
        | {
            "succeeded": cell.succeeded,
            "busy": cell.busy,
            "calls_per_success": cell.calls_per_success,
            "p50_ms": cell.latency_ms(0.5),
            "p95_ms": cell.latency_ms(0.95),
        }
        for cell in cells
    ]
    return rows, {"signup": moto, "signup_conflict_model": model}


def _payout(mode: Mode) -> Measured:
    _progress("payout cost")
    payouts = measure_payouts(mode.payout_sizes)
    figures = [
        dataclasses.asdict(p)
        | {
            "items_read_per_reward": p.items_read_per_reward,
            "claim_writes_per_1000": p.claim_writes_per_1000,
            "dynamodb_writes_per_1000": p.dynamodb_writes_per_1000,
        }
        for p in payouts
    ]
    return report.payout_rows(payouts), {"payout": figures}


def _suite(mode: Mode) -> Measured:
    _progress("test suite")
    suite = measure_suite()
    return report.suite_rows(suite), {"suite": dataclasses.asdict(suite)}


MEASURES = {
    "synthesis": _synthesis,
    "cold-start": _cold_start,
    "signup": _signup,
    "payout": _payout,
    "suite": _suite,
}


def _machine_line(facts: dict) -> str:
    load = " ".join(str(x) for x in facts["load_average_at_start"])
    end = " ".join(str(x) for x in facts["load_average_at_end"])
    return (
        f"{facts['mode']} mode, {facts['timestamp']}: {facts['cores']} cores, Python {facts['python']}, "
        f"Node {facts['node']}; load average {load} at start, {end} at end"
    )


def _progress(section: str) -> None:
    print(f"[bench] {section} ...", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
