"""`python -m benchmarks [--quick] [--skip-suite]`: run every section, print the table, write JSON.

The JSON goes to build/bench.json, or build/bench-quick.json in quick mode. Full mode takes a
few minutes plus the test suite; --quick (small sizes, few repetitions, no suite) is what CI
runs so the benchmark cannot rot. Exit status: 0, or 1 when it crashes or a count that is the
same on every run misses its goal (report.py says which); never for a timing.
"""

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass

from benchmarks.paths import IMPORT_PATHS, PROJECT_ROOT

sys.path[:0] = [path for path in IMPORT_PATHS if path not in sys.path]  # the handlers import `referrals`

from benchmarks import report  # noqa: E402 - needs the Lambda zip root on sys.path
from benchmarks.cold_start import measure_cold_starts  # noqa: E402
from benchmarks.machine import load_average, machine_facts  # noqa: E402
from benchmarks.payout_cost import measure_payouts  # noqa: E402
from benchmarks.signup_cost import measure_signups  # noqa: E402
from benchmarks.suite import measure_suite  # noqa: E402
from benchmarks.synthesis import measure_synthesis  # noqa: E402

# Quick runs (CI) write their own file, so they never replace the figures of a full run.
JSON_PATHS = {"full": PROJECT_ROOT / "build" / "bench.json", "quick": PROJECT_ROOT / "build" / "bench-quick.json"}
CONCURRENT_SIGNUPS = 20


@dataclass(frozen=True)
class Mode:
    name: str
    synth_runs: dict[str, int]  # fresh processes per variant; the current state gets the most
    import_runs: int  # per module; one import varies by a third from run to run on these machines
    signup_trials: int
    payout_sizes: tuple[int, ...]


FULL = Mode("full", {"stock": 3, "python-skip": 3, "current": 5}, 20, 10, (1_000, 10_000))
QUICK = Mode("quick", {"current": 1}, 3, 1, (100,))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions, no test suite")
    parser.add_argument("--skip-suite", action="store_true", help="leave out the test suite's wall time")
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    json_path = JSON_PATHS[mode.name]
    facts = machine_facts() | {"mode": mode.name}

    _progress("synthesis")
    synthesis = measure_synthesis(mode.synth_runs)
    _progress("handler cold start")
    cold_starts = measure_cold_starts(mode.import_runs)
    _progress("signup cost")
    signups = measure_signups(mode.signup_trials, CONCURRENT_SIGNUPS)
    _progress("payout cost")
    payouts = measure_payouts(mode.payout_sizes)
    suite = None
    if not (args.quick or args.skip_suite):
        _progress("test suite")
        suite = measure_suite()
    facts["load_average_at_end"] = load_average()

    rows = [
        *report.synthesis_rows(synthesis),
        *report.cold_start_rows(cold_starts, mode.import_runs),
        *report.signup_rows(signups, CONCURRENT_SIGNUPS),
        *report.payout_rows(payouts),
        *report.suite_rows(suite),
    ]
    print(_machine_line(facts))
    print(report.render(rows))
    document = {
        "machine": facts,
        "synthesis": [dataclasses.asdict(v) for v in synthesis],
        "cold_start": {name: dataclasses.asdict(figures) for name, figures in cold_starts.items()},
        "signup": dataclasses.asdict(signups) | {"mean_calls_under_contention": signups.mean_calls_under_contention},
        "payout": [
            dataclasses.asdict(p)
            | {
                "items_read_per_reward": p.items_read_per_reward,
                "claim_writes_per_1000": p.claim_writes_per_1000,
                "dynamodb_writes_per_1000": p.dynamodb_writes_per_1000,
            }
            for p in payouts
        ],
        "suite": None if suite is None else dataclasses.asdict(suite),
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten: {json_path}")
    failed = [row.measure.strip() for row in rows if row.fails_run]
    if failed:
        print(f"count goals missed: {'; '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


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
