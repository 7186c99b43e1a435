"""REWARD_TIERS is checked twice: at synth (stacks/reward_tiers_setting.py) and by the function at
import (lambdas/referrals/tiers.py). The stack may not import Lambda code, so these properties make
sure the two readings accept exactly the same texts, over generated JSON rather than a few examples.
"""

import json
from decimal import Decimal

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from referrals.money import MAX_AMOUNT
from referrals.tiers import MAX_THRESHOLD_DIGITS, TierConfigError, parse_tiers
from stacks import reward_tiers_setting
from stacks.config import ConfigError, StackConfig


def _object(pairs: list[tuple[str, str]]) -> str:
    # Written by hand: the values are raw JSON texts, and duplicate keys stay in the text.
    return "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in pairs) + "}"


# Keys: plain thresholds, leading zeros, signs, spaces, decimals and exponents, Unicode digits
# (Arabic-Indic, superscript, fullwidth, mathematical), and numbers too long for int().
UNICODE_DIGITS = "\u0661\u00b2\uff11\U0001d7cf"
KEYS = st.one_of(
    st.integers(min_value=0, max_value=40).map(str),
    st.sampled_from(["1", "01", "001", "0", "00", "+1", "-1", " 1", "1 ", "1.0", "1e1", "", *UNICODE_DIGITS]),
    st.integers(min_value=1, max_value=5).map(lambda n: "0" * n + "1"),
    st.sampled_from(["1" * 38, "9" * 39, "1" + "0" * 37, "0" * 4300 + "2", "1" * 4400]),
    st.text(alphabet="0123456789 +-.e" + UNICODE_DIGITS, max_size=6),
)
# Amounts as strings: the forms Decimal() reads (signs, exponents, underscores, whitespace, Unicode
# digits, NaN and Infinity in any case), values around the bound, and words.
AMOUNT_TEXTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.decimals(min_value=0, max_value=MAX_AMOUNT + 1, places=2).map(str),
    st.integers(min_value=-5, max_value=2_000_000).map(str),
    st.sampled_from(
        [
            *("1e3", "1E+3", "1.0", "12.50", "12.500", "12.505", "0", "-0", "+5", " 5 ", "\u30005", "1_000"),
            *("\u0661\u0660", "1000000.00", "1000000.01", "1e6", "1.000001e6", "1e-2", "1e-3", "0e9999"),
            *("1e999999999999", "NaN", "sNaN", "Infinity", "-Infinity", "inf", "", " ", "ten", "0x10"),
        ]
    ),
)
# Amounts as raw JSON: integers, decimals and exponent notation (read as Decimal), the non-standard
# NaN/Infinity constants, true/false/null, strings, floats' repr, and nested arrays and objects.
AMOUNTS = st.recursive(
    st.one_of(
        AMOUNT_TEXTS.map(json.dumps),
        st.integers(min_value=-10, max_value=3_000_000).map(str),
        st.decimals(min_value=0, max_value=2_000_000, allow_nan=False, places=3).map(lambda d: format(d, "f")),
        st.sampled_from(["1e3", "1E+3", "1.0e2", "2.5e-1", "1e-3", "1e6", "1e7", "1e400", "10" + "0" * 40, "-0"]),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "true", "false", "null", "12.50", "0.0"]),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=2).map(_object),
    ),
    max_leaves=4,
)

# Entries the function accepts, in every spelling: thresholds above 1 (KEYS has those that clash with
# the tier at 1), with leading zeros (so two may be the same number); amounts as strings or JSON
# numbers, plain or in exponent notation, up to the bound.
VALID_KEYS = st.tuples(st.sampled_from(["", "", "", "0", "00"]), st.integers(min_value=2, max_value=200)).map(
    lambda parts: parts[0] + str(parts[1])
)
BOUNDED = st.one_of(
    st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2),
    st.integers(min_value=0, max_value=10**6).map(Decimal),
    st.sampled_from([Decimal(0), MAX_AMOUNT, Decimal("0.01"), Decimal("999999.99")]),
)
VALID_AMOUNTS = st.one_of(
    BOUNDED.map(lambda amount: format(amount, "f")),  # a JSON number such as 12.50
    BOUNDED.map(lambda amount: format(amount, "E")),  # the same in exponent notation, 1.250E+1
    BOUNDED.map(lambda amount: json.dumps(format(amount, "f"))),  # a string, "12.50"
    BOUNDED.map(lambda amount: json.dumps(format(amount, "e"))),  # "1.250e+1"
)
# Valid entries and wild ones, so that both outcomes are common.
VALID_ENTRIES = st.tuples(VALID_KEYS, VALID_AMOUNTS)
ENTRIES = st.one_of(VALID_ENTRIES, st.tuples(KEYS, AMOUNTS))
TABLES = st.lists(ENTRIES, max_size=6)
WITH_FIRST_TIER = st.tuples(st.one_of(VALID_AMOUNTS, AMOUNTS), TABLES).map(lambda parts: [("1", parts[0]), *parts[1]])
# Valid but for the thresholds that leading zeros make equal.
VALID_TABLES = st.tuples(VALID_AMOUNTS, st.lists(VALID_ENTRIES, max_size=5)).map(lambda p: [("1", p[0]), *p[1]])
# Whole settings: mostly objects (often with a "1" tier), plus blank and whitespace-only texts,
# other JSON values and broken JSON.
SETTINGS = st.one_of(
    st.one_of(VALID_TABLES, WITH_FIRST_TIER, TABLES).map(_object),
    st.tuples(st.sampled_from(["", " ", "\n", "\t"]), WITH_FIRST_TIER.map(_object)).map(lambda p: p[0] + p[1] + p[0]),
    st.sampled_from(["", " ", "\n\t ", "\u00a0", "\u3000", "{}", "[]", "null", '"1"', "1", "{", '{"1": "1"', "NaN"]),
    AMOUNTS,
    st.text(max_size=8),
)


def function_accepts(text: str) -> bool:
    try:
        parse_tiers(text)
    except TierConfigError:
        return False
    return True


def synth_accepts(text: str) -> bool:
    try:
        StackConfig.from_env({"REWARD_TIERS": text})
    except ConfigError:
        return False
    return True


@settings(max_examples=1500, deadline=None)
@given(SETTINGS)
@example('{"1": "10", "01": "15"}')  # one threshold twice once read as an integer
@example('{"01": "10"}')  # the tier at 1, written with a leading zero
@example('{"1": "10", "1": "15"}')  # the same key twice: JSON keeps the last, silently
@example("  ")  # blank: the default table
@example('{"1": "1e3"}')
@example('{"1": 1e400}')
@example('{"1": NaN}')
@example('{"1": "1000000.01"}')
@example('{"1": "1000000.00"}')
@example('{"1": "10", "' + "0" * 4300 + '2": "15"}')  # a threshold too long for int()
@example("[" * 3000 + "]" * 3000)  # deeper than the JSON parser's recursion limit
@example('{"1": "1\udcff"}')  # os.environ holds undecodable bytes as lone surrogates
def test_synth_and_function_accept_the_same_settings(text: str) -> None:
    accepted = function_accepts(text)
    event("accepted" if accepted else "refused")  # about 1 in 5 is accepted (--hypothesis-show-statistics)
    assert synth_accepts(text) == accepted, text


@settings(max_examples=300, deadline=None)
@given(st.one_of(VALID_TABLES, WITH_FIRST_TIER).map(_object))
def test_accepted_amounts_are_bounded_whole_cents_in_plain_notation(text: str) -> None:
    if not function_accepts(text):
        return
    for amount in parse_tiers(text).amounts:
        assert Decimal(0) <= amount <= MAX_AMOUNT
        assert str(amount) == format(amount, "f") and amount.as_tuple().exponent == -2, amount


def test_both_sides_name_the_same_bounds() -> None:
    assert (reward_tiers_setting.MAX_AMOUNT, reward_tiers_setting.MAX_THRESHOLD_DIGITS) == (
        MAX_AMOUNT,
        MAX_THRESHOLD_DIGITS,
    )
