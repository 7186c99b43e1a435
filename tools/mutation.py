"""Mutation testing of the domain modules (`make mutation`): mutmut 3, one module at a time, one worker.

    python -m tools.mutation                 # every module in tools/mutation.toml
    python -m tools.mutation tiers money     # just these

tools/mutation.toml lists the modules, the tests run against each, and the mutants judged
equivalent (each with its reason). Per module this:

1. stages a copy of the Lambda code with lambdas/ as its root (build/mutation/<module>/), because
   mutmut names a mutant after its file's path and the tests import `referrals.tiers`, not
   `lambdas.referrals.tiers`;
2. runs `mutmut run --max-children 1` on that module's functions (all of them, none with
   `functions = false`, or those listed in `functions`) with that module's tests; mutmut records
   which test reaches which function and runs only those tests against each mutant, fastest
   first (log-only mutants are counted but not run);
3. adds the mutants mutmut 3 does not make (it mutates function bodies only): each module-level
   number constant plus one, and, where `conditions = true`, the DynamoDB condition expressions
   (AND <-> OR, = <-> <>, < <-> <=, > <-> >=, attribute_exists <-> attribute_not_exists, NOT
   dropped), each run against the module's tests with `pytest -x`;
4. prints generated, killed, survived, equivalent and log-only per module, the score, and every
   surviving mutant as a diff.

A mutant is *log-only* when it differs from the original only inside the arguments of a logger call
or of the exception a `raise` builds (except the types in `messages_are_behaviour`, whose message
is the API's answer). The score leaves out log-only and equivalent mutants:
killed / (generated - equivalent - log-only). The exit status is 1 below the goal in the config.
"""

import argparse
import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
STAGE = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"
PACKAGE = "referrals"
# Copied into each stage: the Lambda code at the root (as in the zip), plus what the tests import.
STAGED_LAMBDA_DIRS = ("referrals", "payout_processor", "event_relay", "reward_calculator")
STAGED_PROJECT_DIRS = ("stacks", "tools", "tests/unit", "tests/lambdas")
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
# mutmut's exit codes (mutmut/stats.py): 0 survived, 33 no test reaches the function.
SURVIVED_CODES = {0: "survived", 5: "no tests", 33: "no tests"}
NOT_RUN = "not run"
# Token swaps inside DynamoDB condition expressions (a space on each side: whole operators only).
CONDITION_SWAPS = (
    (" AND ", " OR "),
    (" OR ", " AND "),
    (" = ", " <> "),
    (" <> ", " = "),
    (" < ", " <= "),
    (" <= ", " < "),
    (" > ", " >= "),
    (" >= ", " > "),
    ("attribute_exists(", "attribute_not_exists("),
    ("attribute_not_exists(", "attribute_exists("),
    ("NOT ", ""),
)
# The stage's root conftest: run the fastest tests first, so a mutant that some quick test kills
# is not first put through the slow ones (mutmut runs with -x, in the order it is given).
ORDER_BY_DURATION = '''"""Stage only (tools/mutation.py): fastest tests first, by mutmut's recorded durations."""

import json
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")
    if stats.exists():
        durations = json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"]
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
'''
CONDITION_TEXT = re.compile(r"\s(=|<>|<|<=|>|>=)\s:|attribute_(not_)?exists\(|contains\(|\)\s(AND|OR)\s\(")
UPDATE_TEXT = re.compile(r"(SET|ADD|REMOVE|DELETE)\s")


@dataclass(frozen=True)
class Equivalent:
    module: str
    function: str
    was: str
    now: str
    reason: str


@dataclass(frozen=True)
class Settings:
    goal: float
    messages_are_behaviour: frozenset[str]
    modules: dict[str, dict]
    equivalents: tuple[Equivalent, ...]


@dataclass
class Mutant:
    module: str
    name: str
    function: str  # "Tiers.reward_for", "_threshold", or "<module>" for a module-level constant
    survived: bool
    status: str
    was: str  # the original line(s) the mutant changes, stripped
    now: str  # the same line(s) in the mutant
    diff: str
    log_only: bool = False
    equivalent: str | None = None  # the reason, when tools/mutation.toml marks it


@dataclass
class ModuleResult:
    module: str
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def judged(self) -> list[Mutant]:
        """The mutants that count for the score: neither log-only nor marked equivalent."""
        return [m for m in self.mutants if not m.log_only and m.equivalent is None]

    @property
    def killed(self) -> int:
        return sum(1 for m in self.judged if not m.survived)

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.judged if m.survived]


def load_settings(path: Path = CONFIG) -> Settings:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    equivalents = tuple(
        Equivalent(e["module"], e["function"], e["was"].strip(), e["now"].strip(), e["reason"])
        for e in data.get("equivalent", [])
    )
    modules = {name: spec | {"tests": _test_files(name, spec["tests"])} for name, spec in data["modules"].items()}
    return Settings(
        goal=float(data["goal"]),
        messages_are_behaviour=frozenset(data.get("messages_are_behaviour", [])),
        modules=modules,
        equivalents=equivalents,
    )


def _test_files(module: str, patterns: list[str]) -> list[str]:
    files = []
    for pattern in patterns:
        found = sorted(str(path.relative_to(ROOT)) for path in ROOT.glob(pattern))
        if not found:
            raise SystemExit(f"{CONFIG.name}: no test file matches {pattern!r} (module {module})")
        files += [name for name in found if name not in files]
    return files


# Staging ----------------------------------------------------------------------------------------


def stage(module: str, spec: dict) -> Path:
    directory = STAGE / module
    shutil.rmtree(directory, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in STAGED_LAMBDA_DIRS:
        shutil.copytree(ROOT / "lambdas" / name, directory / name, ignore=ignore)
    for name in STAGED_PROJECT_DIRS:
        shutil.copytree(ROOT / name, directory / name, ignore=ignore)
    shutil.copy2(ROOT / "tests" / "conftest.py", directory / "tests" / "conftest.py")
    (directory / "conftest.py").write_text(ORDER_BY_DURATION, encoding="utf-8")
    pytest_config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    options = pytest_config["ini_options"]
    also_copy = [*STAGED_LAMBDA_DIRS[1:], "stacks", "tools", "conftest.py"]
    (directory / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'pythonpath = ["."]\n'  # the stage root holds both the project dirs and the Lambda code
        # A fixed Hypothesis seed: the same mutant is killed (or not) on every run.
        f"addopts = {json.dumps(options['addopts'] + ' -p no:cacheprovider --hypothesis-seed=0')}\n"
        f"markers = {json.dumps(options['markers'])}\n"
        "\n[tool.mutmut]\n"
        f'source_paths = ["{PACKAGE}"]\n'
        f'only_mutate = ["{PACKAGE}/{module}.py"]\n'
        f"also_copy = {json.dumps(also_copy)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(spec['tests'])}\n"
        "use_git_change_detection = false\n",
        encoding="utf-8",
    )
    return directory


# mutmut's mutants ---------------------------------------------------------------------------------


def run_mutmut(
    module: str, directory: Path, settings: Settings, timeout: int, only: frozenset[str] | None = None
) -> list[Mutant]:
    """mutmut's mutants of the module's functions (or of the functions in `only`, as the report
    names them), every one run except the log-only ones."""
    # First pass: generates every mutant, records which test reaches which function, and runs the
    # first mutant of each function. Log-only mutants are then counted, not run: they do not
    # count for the score, and each survivor costs a run of every test that reaches it.
    first = ["*__mutmut_1"] if only is None else [f"{PACKAGE}.{module}.{mangled(f)}__mutmut_1" for f in sorted(only)]
    _mutmut(module, directory, first, timeout)
    mutants = _selected(mutmut_mutants(module, directory, settings), only)
    unknown = sorted(only - {m.function for m in mutants}) if only is not None else []
    if unknown:
        raise SystemExit(f"{CONFIG.name}: module {module} has no function {', '.join(unknown)} with mutants")
    to_run = [m.name for m in mutants if m.status == NOT_RUN and not m.log_only]
    if to_run:
        _mutmut(module, directory, to_run, timeout)
    return _selected(mutmut_mutants(module, directory, settings), only)


def _selected(mutants: list[Mutant], only: frozenset[str] | None) -> list[Mutant]:
    return mutants if only is None else [m for m in mutants if m.function in only]


def mangled(function: str) -> str:
    """mutmut's name for a function as the report names it: "Tiers.reward_for" -> "xǁTiersǁreward_for"."""
    class_name, _, method = function.rpartition(".")
    return f"xǁ{class_name}ǁ{method}" if class_name else f"x_{function}"


def _mutmut(module: str, directory: Path, names: list[str], timeout: int) -> None:
    log = directory / "mutmut.log"
    with log.open("a", encoding="utf-8") as out:
        completed = subprocess.run(  # noqa: S603 - fixed arguments, our own venv's mutmut
            [str(MUTMUT), "run", "--max-children", "1", *names],
            cwd=directory,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if completed.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"mutmut failed on {module} (exit {completed.returncode}); end of {log}:\n{tail}")


def mutmut_mutants(module: str, directory: Path, settings: Settings) -> list[Mutant]:
    mutated = directory / "mutants" / PACKAGE / f"{module}.py"
    meta = json.loads(mutated.with_name(f"{module}.py.meta").read_text(encoding="utf-8"))
    source = mutated.read_text(encoding="utf-8")
    functions = {node.name: node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
    mutants = []
    for name, code in meta["exit_code_by_key"].items():
        generated = name.rpartition(".")[2]  # x_parse_tiers__mutmut_3, xǁTiersǁreward_for__mutmut_1
        base = generated.rpartition("__mutmut_")[0]
        original, mutant = functions[f"{base}__mutmut_orig"], functions[generated]
        original_text, mutant_text = (_function_text(source, node) for node in (original, mutant))
        was, now, diff = _difference(original_text, mutant_text, f"{PACKAGE}/{module}.py")
        mutants.append(
            Mutant(
                module=module,
                name=name,
                function=_display_name(base),
                survived=code is None or code in SURVIVED_CODES,  # not run: not known to be killed
                status=NOT_RUN if code is None else SURVIVED_CODES.get(code, "killed"),
                was=was,
                now=now,
                diff=diff,
                log_only=_log_only(original, mutant, settings.messages_are_behaviour),
            )
        )
    return mutants


def _display_name(name: str) -> str:
    """The report's name for mutmut's name of a function (the inverse of mangled())."""
    if name.startswith("xǁ"):
        _, class_name, method = name.split("ǁ")
        return f"{class_name}.{method}"
    return name.removeprefix("x_")


def _function_text(source: str, node: ast.FunctionDef) -> str:
    """The function's source without its def line (which carries mutmut's generated name)."""
    text = ast.get_source_segment(source, node) or ""
    return text.split(":\n", 1)[1] if ":\n" in text else text


def _difference(original: str, mutant: str, path: str) -> tuple[str, str, str]:
    before, after = original.splitlines(), mutant.splitlines()
    diff = "\n".join(difflib.unified_diff(before, after, fromfile=path, tofile=path, lineterm="", n=1))
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return "\n".join(removed), "\n".join(added), diff


class _BlankMessages(ast.NodeTransformer):
    """Empties the arguments of logger calls and of raised exceptions (except API messages)."""

    def __init__(self, messages_are_behaviour: frozenset[str]) -> None:
        self._keep = messages_are_behaviour

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and _names_logger(func.value):
            return ast.Call(func=func, args=[], keywords=[])
        return self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        exc = node.exc
        if isinstance(exc, ast.Call) and _callee_name(exc.func) not in self._keep:
            node.exc = ast.Call(func=exc.func, args=[], keywords=[])
        return self.generic_visit(node)


def _names_logger(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "logger") or (
        isinstance(node, ast.Attribute) and node.attr == "logger"
    )


def _callee_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _log_only(original: ast.FunctionDef, mutant: ast.FunctionDef, keep: frozenset[str]) -> bool:
    def normal(node: ast.FunctionDef) -> str:
        copy = ast.parse(ast.unparse(node)).body[0]
        assert isinstance(copy, ast.FunctionDef)  # noqa: S101 - unparse of a def parses to a def
        copy.name = "f"
        return ast.dump(_BlankMessages(keep).visit(copy))

    return normal(original) == normal(mutant)


# The mutants mutmut 3 does not make -------------------------------------------------------------


def extra_mutants(source: str, conditions: bool) -> Iterator[tuple[str, str, int, int, str]]:
    """(kind, function, start offset, end offset, replacement) for each module-level number
    constant (plus one) and, if asked, each token swap in a DynamoDB condition expression."""
    tree = ast.parse(source)
    offsets = _line_offsets(source)
    for statement in tree.body:
        value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
        number = value.value if isinstance(value, ast.Constant) else None
        if isinstance(number, int | float) and not isinstance(number, bool):
            assert value is not None  # noqa: S101 - number came from it
            start = offsets[value.lineno - 1] + value.col_offset
            end = offsets[(value.end_lineno or value.lineno) - 1] + (value.end_col_offset or 0)
            yield "constant", "<module>", start, end, repr(number + 1)
    if not conditions:
        return
    for function, node in _condition_strings(tree):
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)
        text = source[start:end]
        for old, new in CONDITION_SWAPS:
            for match in re.finditer(re.escape(old), text):
                yield "condition", function, start + match.start(), start + match.end(), new


def _condition_strings(tree: ast.Module) -> Iterator[tuple[str, ast.expr]]:
    """(function, string) for each string literal that reads as a DynamoDB condition: a comparison
    with a :value, attribute_exists/contains, or two bracketed conditions joined; not an update
    expression (SET/ADD/REMOVE) and not a docstring."""
    owner: dict[int, str] = {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        owner.update((id(node), function.name) for node in ast.walk(function))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if not (is_text or isinstance(node, ast.JoinedStr)) or id(node) in docstrings or id(node) in parts:
            continue
        assert isinstance(node, ast.expr)  # noqa: S101 - a Constant or JoinedStr
        text = ast.unparse(node).lstrip("f'\"")
        if CONDITION_TEXT.search(text) and not UPDATE_TEXT.match(text):
            yield owner.get(id(node), "<module>"), node


def _line_offsets(source: str) -> list[int]:
    offsets, total = [], 0
    for line in source.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    return offsets


def run_extra(module: str, spec: dict, directory: Path) -> list[Mutant]:
    path = directory / PACKAGE / f"{module}.py"
    original = path.read_text(encoding="utf-8")
    stats = directory / "mutants" / "mutmut-stats.json"
    if stats.exists():  # mutmut ran the module's functions: fastest tests first here too (ORDER_BY_DURATION)
        shutil.copy2(stats, directory / stats.name)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *spec["tests"]]
    started = time.monotonic()
    if subprocess.run(command, cwd=directory, capture_output=True, check=False).returncode != 0:  # noqa: S603
        raise RuntimeError(f"{module}: the tests fail without any mutant ({' '.join(command)} in {directory})")
    timeout = 5 * (time.monotonic() - started) + 10
    mutants = []
    try:
        for number, (kind, function, start, end, new) in enumerate(
            extra_mutants(original, bool(spec.get("conditions"))), start=1
        ):
            text = original[:start] + new + original[end:]
            path.write_text(text, encoding="utf-8")
            try:
                code = subprocess.run(  # noqa: S603 - fixed arguments
                    command, cwd=directory, capture_output=True, timeout=timeout, check=False
                ).returncode
            except subprocess.TimeoutExpired:
                code = -1
            was, now, diff = _difference(original, text, f"{PACKAGE}/{module}.py")
            name = f"{PACKAGE}.{module}.{kind}_{number}"
            survived = code == 0
            status = "survived" if survived else "killed"
            mutants.append(Mutant(module, name, function, survived, status, was, now, diff))
    finally:
        path.write_text(original, encoding="utf-8")
    return mutants


# Running and reporting --------------------------------------------------------------------------


def run_module(module: str, spec: dict, settings: Settings) -> ModuleResult:
    started = time.monotonic()
    directory = stage(module, spec)
    mutants: list[Mutant] = []
    functions = spec.get("functions", True)  # true: every function; false: none; or a list of them
    if functions:
        only = None if functions is True else frozenset(functions)
        mutants += run_mutmut(module, directory, settings, int(spec.get("timeout_seconds", 1800)), only)
    mutants += run_extra(module, spec, directory)
    for mutant in mutants:
        mutant.equivalent = next(
            (
                e.reason
                for e in settings.equivalents
                if (e.module, e.function, e.was, e.now) == (module, mutant.function, mutant.was, mutant.now)
            ),
            None,
        )
    return ModuleResult(module, mutants, time.monotonic() - started)


def report(results: list[ModuleResult], goal: float) -> bool:
    header = (
        f"{'module':<16}{'generated':>10}{'killed':>8}{'survived':>10}{'equivalent':>12}{'log-only':>10}{'score':>9}"
    )
    lines = [header, "-" * len(header)]
    totals = ModuleResult("total")
    for result in results:
        totals.mutants += result.mutants
        lines.append(_row(result))
    lines += ["-" * len(header), _row(totals)]
    print("\n".join(lines))
    for result in results:
        for mutant in result.mutants:
            if mutant.equivalent is not None and not mutant.survived:
                print(f"\nmarked equivalent but killed (remove the mark): {mutant.name} {mutant.function}")
        for mutant in result.survivors:
            print(f"\nsurvived: {mutant.name} ({mutant.function}, {mutant.status})\n{mutant.diff}")
        log_survivors = [m for m in result.mutants if m.log_only and m.status == "survived"]
        if log_survivors:
            print(
                f"\n{result.module}: {len(log_survivors)} log-only survivors in "
                + ", ".join(sorted({m.function for m in log_survivors}))
            )
    score = _score(totals)
    passed = score >= goal
    print(f"\nscore {score:.1%} (goal {goal:.0%}): {'met' if passed else 'NOT met'}")
    return passed


def _score(result: ModuleResult) -> float:
    judged = len(result.judged)
    return 1.0 if judged == 0 else result.killed / judged


def _row(result: ModuleResult) -> str:
    equivalent = sum(1 for m in result.mutants if m.equivalent is not None)
    log_only = sum(1 for m in result.mutants if m.log_only and m.equivalent is None)
    return (
        f"{result.module:<16}{len(result.mutants):>10}{result.killed:>8}{len(result.survivors):>10}"
        f"{equivalent:>12}{log_only:>10}{_score(result):>9.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to run (default: every module in the config)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="default: tools/mutation.toml")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    unknown = sorted(set(args.modules) - set(settings.modules))
    if unknown:
        parser.error(f"not in {args.config}: {', '.join(unknown)}")
    started = time.monotonic()
    results = []
    for module in args.modules or list(settings.modules):
        result = run_module(module, settings.modules[module], settings)
        print(f"{module}: {len(result.mutants)} mutants in {result.seconds:.0f} s", flush=True)
        results.append(result)
    print()
    passed = report(results, settings.goal)
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
