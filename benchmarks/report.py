"""The one table: every figure of every section with its goal, as text and as JSON rows.

Goals come from issue 8; the signup's call counts from issue 13, which took the publish out of
the reward function (the stream relay sends the notification); the signups under DynamoDB's
transaction conflicts from issue 15. Timings and the moto contended-signup mean are reported
against their goals but never fail the run: they depend on the machine and on thread scheduling.
The other counts (calls on the happy path, items read, claim and clawback settlement writes, and
the 503s and calls per signup under the conflict model, which runs in simulated time) are the
same on every run; missing one of those is a regression, so `python -m benchmarks` exits 1 (see
__main__.py). The model's latencies are simulated too, but they are timings: reported, never
failing the run.
"""

import math
from dataclasses import dataclass

from benchmarks.cold_start import BASELINE, ImportFigures
from benchmarks.payout_cost import PayoutFigures
from benchmarks.signup_contention import ModelCell
from benchmarks.signup_cost import SignupFigures
from benchmarks.suite import SuiteFigures
from benchmarks.synth_child import CONSTRUCT_BUILDING
from benchmarks.synthesis import VariantFigures

TS_NODE_SYNTH_S = 2.8  # the original TypeScript app through ts-node, on these machines
TS_NODE_SYNTH_MIB = 243
COLD_START_RATIO = 1.3
HAPPY_PATH_CALLS = 2
# Issue 15, under the conflict model at T = 20 ms: no 503, and these.
MODEL_GOAL_TRANSACTION_MS = 20
MODEL_BURST_CALLS = 3.0
MODEL_STREAM_CALLS = 2.5
MODEL_STREAM_P95_MS = 500
ITEMS_READ_PER_REWARD = 1.05
CLAIM_WRITES_PER_1000 = 10
CLAWBACKS_PER_SETTLEMENT = 100
NO_GOAL = ""
MET, MISSED = "met", "MISSED"


@dataclass(frozen=True)
class Row:
    measure: str
    value: str = ""
    goal: str = NO_GOAL
    verdict: str = ""  # "met" / "MISSED", or "" without a goal
    deterministic: bool = False  # a count that is the same on every run: missing its goal fails
    heading: bool = False

    @property
    def fails_run(self) -> bool:
        return self.deterministic and self.verdict == MISSED


def _goal(measure: str, value: str, goal: str, ok: bool, deterministic: bool = False) -> Row:
    return Row(measure, value, goal, MET if ok else MISSED, deterministic)


def synthesis_rows(variants: list[VariantFigures]) -> list[Row]:
    by_name = {v.variant: v for v in variants}
    now = by_name["current"]
    rows = [
        Row(f"1. Synthesis: cold `python main.py`, each run a fresh process (now: median of {now.runs})", heading=True),
        _goal(
            "wall time, now",
            f"{now.median_wall_s:.2f} s",
            f"<= {TS_NODE_SYNTH_S} s (ts-node)",
            now.median_wall_s <= TS_NODE_SYNTH_S,
        ),
        _goal(
            "peak RSS, largest single process, now",
            f"{now.median_largest_peak_mib:.0f} MiB",
            f"<= {TS_NODE_SYNTH_MIB} MiB (ts-node)",
            now.median_largest_peak_mib <= TS_NODE_SYNTH_MIB,
        ),
        # ts-node is one process: its peak is the whole tree's, so both of ours are compared with it.
        _goal(
            "peak RSS, Python + Node together, now",
            f"{now.median_tree_peak_mib:.0f} MiB",
            f"<= {TS_NODE_SYNTH_MIB} MiB (ts-node)",
            now.median_tree_peak_mib <= TS_NODE_SYNTH_MIB,
        ),
    ]
    for variant in variants:
        if variant is not now:
            rows.append(
                Row(
                    f"{variant.description}, median of {variant.runs}: wall, largest, together",
                    f"{variant.median_wall_s:.2f} s, {variant.median_largest_peak_mib:.0f} MiB, "
                    f"{variant.median_tree_peak_mib:.0f} MiB",
                )
            )
    identical = len({v.output_sha256 for v in variants}) == 1
    rows.append(
        _goal(
            "cdk.tf.json and Lambda zips identical across variants",
            "yes" if identical else "NO",
            "identical",
            identical,
            deterministic=True,
        )
    )
    order = " / ".join(v.variant for v in variants)
    rows.append(Row(f"where the time goes (one instrumented run each: {order})"))
    for phase in now.phases_s:
        rows.append(Row(f"  {phase}", _seconds([v.phases_s[phase] for v in variants])))
        if phase == CONSTRUCT_BUILDING:
            rows.append(Row("    of which Lambda zips", _seconds([v.lambda_zips_s for v in variants])))
    return rows


def _seconds(values: list[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values) + " s"


def cold_start_rows(cold_starts: dict[str, ImportFigures], runs: int) -> list[Row]:
    rows = [Row(f"2. Handler cold start: module import in a fresh interpreter, median of {runs}", heading=True)]
    for name, figures in cold_starts.items():
        value = f"{figures.median_s * 1000:.0f} ms"
        if name == BASELINE:
            rows.append(Row("import boto3 alone (baseline)", value))
            continue
        ratio = figures.ratio_to_boto3
        rows.append(
            _goal(
                f"{name} handler",
                f"{value} ({ratio:.2f}x boto3)",
                f"<= {COLD_START_RATIO}x boto3",
                ratio <= COLD_START_RATIO,
            )
        )
    return rows


def signup_rows(signups: SignupFigures, concurrent: int) -> list[Row]:
    trials = signups.trials
    per_trial = ", ".join(f"{t.calls_per_success:.2f}" for t in trials)
    succeeded, busy = sum(t.succeeded for t in trials), sum(t.rejected_busy for t in trials)
    happy = len(signups.happy_path_calls)
    commits = sum(t.transactions for t in trials)
    return [
        Row("3. Signup: AWS calls per successful signup (moto, one request at a time)", heading=True),
        _goal(
            "happy path",
            f"{happy}: {', '.join(call.split(':')[1] for call in signups.happy_path_calls)}",
            f"{HAPPY_PATH_CALLS}",
            happy == HAPPY_PATH_CALLS,
            deterministic=True,
        ),
        # No goal: the queue schedules commits on DynamoDB's timing, and moto's commit is an order
        # of magnitude slower here; the goals are the conflict model's (section 3b).
        Row(
            f"{concurrent} at once for one referrer, mean of {len(trials)} trials (no goal, see 3b)",
            f"{signups.mean_calls_under_contention:.2f}",
        ),
        Row("  per trial", per_trial),
        Row("  commit time in moto here, median (DynamoDB: 10-30 ms)", f"{signups.median_commit_ms:.0f} ms"),
        Row("  commit attempts per successful signup", f"{commits / max(succeeded, 1):.2f}"),
        Row("  signups succeeded / answered 503 (busy)", f"{succeeded} / {busy}"),
    ]


def contention_rows(cells: list[ModelCell]) -> list[Row]:
    rows = [
        Row(
            "3b. Signup under DynamoDB's transaction conflicts: one referrer, conflict model, simulated time, W = 5 ms",
            heading=True,
        )
    ]
    for cell in cells:
        timing = f"T = {cell.transaction_ms} ms"
        if cell.spread:  # outside the model, whose times are fixed: a warning, not a goal
            low, high = (round(cell.transaction_ms * (1 + sign * cell.spread)) for sign in (-1, 1))
            timing = f"T = {low}-{high} ms, varying per call (no goal)"
        value = (
            f"{cell.succeeded}/{cell.signups} ok, {cell.busy} x 503, {cell.calls_per_success:.2f} calls per success, "
            f"p50 {cell.latency_ms(0.5):.0f} / p95 {cell.latency_ms(0.95):.0f} ms"
        )
        trials = f"{len(cell.trials)} trial" + ("s" if len(cell.trials) > 1 else "")
        rows.append(Row(f"{timing}, {cell.workload}, {trials}", value))
        if cell.transaction_ms == MODEL_GOAL_TRANSACTION_MS and not cell.spread:
            rows += _model_goal_rows(cell)
    return rows


def _model_goal_rows(cell: ModelCell) -> list[Row]:
    stream = cell.workload != "20 at once"
    calls_goal = MODEL_STREAM_CALLS if stream else MODEL_BURST_CALLS
    rows = [
        _goal("  answered 503", str(cell.busy), "0", cell.busy == 0, deterministic=True),
        _goal(
            "  AWS calls per successful signup",
            f"{cell.calls_per_success:.2f}",
            f"<= {calls_goal}",
            cell.calls_per_success <= calls_goal,
            deterministic=True,
        ),
    ]
    if stream:
        p95 = cell.latency_ms(0.95)
        rows.append(
            _goal(
                "  p95 latency (simulated)",
                f"{p95:.0f} ms",
                f"<= {MODEL_STREAM_P95_MS} ms",
                p95 <= MODEL_STREAM_P95_MS,
                deterministic=True,  # simulated time: the same on every run
            )
        )
    return rows


def payout_rows(payouts: list[PayoutFigures]) -> list[Row]:
    rows = [Row("4. Payout: N payable rewards, 10 N paid in earlier months, N/10 referrers", heading=True)]
    for p in payouts:
        run, traced = p.run, p.traced
        rows += [
            Row(
                f"N = {p.pending:,}"
                + (f", {p.clawbacks} clawed back ({p.clawbacks / p.pending:.0%})" if p.clawbacks else "")
            ),
            _goal(
                "  items read per paid reward (ScannedCount)",
                f"{p.items_read_per_reward:.3f}",
                f"<= {ITEMS_READ_PER_REWARD}",
                p.items_read_per_reward <= ITEMS_READ_PER_REWARD,
                deterministic=True,
            ),
            _goal(
                "  claim transactions per 1,000 rewards",
                f"{p.claim_writes_per_1000:.1f}",
                f"<= {CLAIM_WRITES_PER_1000}",
                p.claim_writes_per_1000 <= CLAIM_WRITES_PER_1000,
                deterministic=True,
            ),
        ]
        if p.clawbacks:
            rows += _settlement_rows(p)
        rows += [
            Row(
                "  DynamoDB write calls per 1,000 rewards (claims, settlements, credits, run record)",
                f"{p.dynamodb_writes_per_1000:.1f}",
            ),
            Row("  AWS calls", ", ".join(f"{op.split(':')[1]} {n}" for op, n in sorted(run["calls"].items()))),
            Row(
                "  wall time (emulator included) / CPU of the payout process",
                f"{run['wall_s']:.1f} s / {run['cpu_s']:.2f} s",
            ),
            Row(
                "  peak memory: tracemalloc / RSS (growth during the run)",
                f"{traced['tracemalloc_peak_mib']:.1f} MiB / {run['rss_peak_mib']:.0f} MiB "
                f"(+{run['rss_peak_mib'] - run['rss_before_mib']:.1f} MiB)",
            ),
        ]
    return rows


def _settlement_rows(p: PayoutFigures) -> list[Row]:
    """Clawback claims on their own: one transaction per 100 clawbacks netted, every one settled."""
    settled = p.run["clawbacks_settled"]
    transactions = math.ceil(p.clawbacks / CLAWBACKS_PER_SETTLEMENT)
    return [
        _goal("  clawbacks settled", str(settled), str(p.clawbacks), settled == p.clawbacks, deterministic=True),
        _goal(
            "  clawback settlement transactions",
            str(p.settlement_writes),
            f"<= {transactions} (1 per {CLAWBACKS_PER_SETTLEMENT})",
            p.settlement_writes <= transactions,
            deterministic=True,
        ),
    ]


def suite_rows(suite: SuiteFigures | None) -> list[Row]:
    heading = Row("5. Test suite: `pytest` of the whole suite", heading=True)
    if suite is None:
        return [heading, Row("wall time", "skipped")]
    return [heading, Row("wall time", f"{suite.wall_s:.0f} s"), Row("outcome", suite.summary)]


def render(rows: list[Row]) -> str:
    widths = [max(len(getattr(r, column)) for r in rows if not r.heading) for column in ("measure", "value", "goal")]
    lines = []
    for row in rows:
        if row.heading:
            lines.append(f"\n{row.measure}")
            continue
        cells = (row.measure.ljust(widths[0]), row.value.ljust(widths[1]), row.goal.ljust(widths[2]), row.verdict)
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines).lstrip("\n")
