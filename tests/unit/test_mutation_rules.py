"""The rules of make mutation (tools/mutation.py) that decide what counts: which mutant is log-only,
which extra mutants are made, and that the config names test files that exist."""

import ast

from tools.mutation import CONFIG, _display_name, _log_only, extra_mutants, load_settings, mangled

KEEP = frozenset({"ValidationError"})


def function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


ORIGINAL = """
def f(x):
    if x < 0:
        logger.warning("negative", extra={"x": x})
        raise ValueError(f"x must be >= 0, not {x}")
    if x == 1:
        raise ValidationError("x must not be 1")
    return x
"""


def test_a_change_inside_a_logger_call_or_a_raised_message_is_log_only() -> None:
    for mutated in (
        ORIGINAL.replace('"negative"', '"XXnegativeXX"'),
        ORIGINAL.replace('extra={"x": x}', 'extra={"XXxXX": x}'),
        ORIGINAL.replace('extra={"x": x}', ""),
        ORIGINAL.replace('f"x must be >= 0, not {x}"', "None"),
    ):
        assert _log_only(function(ORIGINAL), function(mutated), KEEP), mutated


def test_a_change_of_logic_or_of_an_api_message_is_behaviour() -> None:
    for mutated in (
        ORIGINAL.replace("x < 0", "x <= 0"),
        ORIGINAL.replace("raise ValueError", "raise TypeError"),
        ORIGINAL.replace('"x must not be 1"', '"XXx must not be 1XX"'),  # the 400 answer
        ORIGINAL.replace("return x", "return None"),
    ):
        assert not _log_only(function(ORIGINAL), function(mutated), KEEP), mutated


def test_module_constants_get_one_added_and_conditions_their_operators_swapped() -> None:
    source = (
        "LIMIT = 30\n"
        "RATE = 0.5\n"
        "ENABLED = True\n"
        'CONDITION = "attribute_not_exists(k) OR (#s <> :done AND n < :now)"\n'
        "def g():\n"
        '    return update(UpdateExpression="SET a = :a", ConditionExpression=f"b = :b AND NOT contains(c, :c)")\n'
    )
    mutants = {(kind, where, source[a:b], new) for kind, where, a, b, new in extra_mutants(source, conditions=True)}
    assert mutants == {
        ("constant", "<module>", "30", "31"),
        ("constant", "<module>", "0.5", "1.5"),
        ("condition", "<module>", " OR ", " AND "),
        ("condition", "<module>", " AND ", " OR "),
        ("condition", "<module>", " <> ", " = "),
        ("condition", "<module>", " < ", " <= "),
        ("condition", "<module>", "attribute_not_exists(", "attribute_exists("),
        ("condition", "g", " AND ", " OR "),
        ("condition", "g", " = ", " <> "),
        ("condition", "g", "NOT ", ""),
    }
    assert {new for *_, new in extra_mutants(source, conditions=False)} == {"31", "1.5"}


def test_every_configured_module_and_test_file_exists() -> None:
    settings = load_settings(CONFIG)
    root = CONFIG.parent.parent
    for module, spec in settings.modules.items():
        assert (root / "lambdas" / "referrals" / f"{module}.py").is_file(), module
        assert spec["tests"], module
        assert all((root / test).is_file() for test in spec["tests"]), module
    for equivalent in settings.equivalents:
        assert equivalent.module in settings.modules
        assert equivalent.reason.strip()


def test_a_function_is_named_as_mutmut_names_it_and_back() -> None:
    assert mangled("_cancellation") == "x__cancellation"
    assert mangled("DynamoReferralStore.take_ticket") == "xǁDynamoReferralStoreǁtake_ticket"
    for name in ("_cancellation", "schedule", "Turn.after_refusal"):
        assert _display_name(mangled(name)) == name


def test_every_function_a_module_lists_is_in_it() -> None:
    root = CONFIG.parent.parent
    for module, spec in load_settings(CONFIG).modules.items():
        functions = spec.get("functions", True)
        assert isinstance(functions, bool | list), module
        if isinstance(functions, bool):
            continue
        tree = ast.parse((root / "lambdas" / "referrals" / f"{module}.py").read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)} | {
            f"{node.name}.{method.name}"
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for method in node.body
            if isinstance(method, ast.FunctionDef)
        }
        assert functions and set(functions) <= defined, (module, sorted(set(functions) - defined))
