"""Review signals (referrals/review_signals.py): e-mail normalization and its keyed hash, who owns
a shared e-mail, and the burst signal."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.review_signals import (
    HOUR_MS,
    ReviewSignal,
    email_key,
    is_referral_burst,
    normalized_email,
    shared_email_signal,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
NOW = 1_796_000_000_000


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("bob@example.com", "bob@example.com"),
        ("Bob@Example.COM", "bob@example.com"),
        ("bob+promo@example.com", "bob@example.com"),
        ("bob+a+b@example.com", "bob@example.com"),
        ("b.o.b@example.com", "b.o.b@example.com"),  # dots count everywhere but Gmail
        ("B.o.B+x@Gmail.com", "bob@gmail.com"),
        ("bob@googlemail.com", "bob@gmail.com"),
        ("bo.b+tag@GoogleMail.com", "bob@gmail.com"),
        ("+tag@example.com", "@example.com"),
        ("Straße@example.com", "strasse@example.com"),  # casefold, not lower: ß is "ss" ...
        ("STRASSE@example.com", "strasse@example.com"),  # ... as its upper case is
    ],
)
def test_addresses_normalize_to_their_mailbox(address: str, mailbox: str) -> None:
    assert normalized_email(address) == mailbox


@pytest.mark.parametrize("address", ["no-at.example.com", "a@b@example.com", ""])
def test_a_string_without_exactly_one_at_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="exactly one '@'"):
        normalized_email(address)


LETTERS = st.characters(min_codepoint=ord("a"), max_codepoint=ord("z"))
GMAIL_NAMES = st.text(alphabet=st.one_of(LETTERS, st.sampled_from("0123456789")), min_size=1, max_size=30)
# Local parts other providers hand out: ASCII, no '+' (the tag separator) and no '@'.
LOCAL_PARTS = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789._-"), min_size=1, max_size=30)
TAGS = st.text(alphabet=st.characters(blacklist_characters="@", blacklist_categories=["Cs"]), max_size=20)


@st.composite
def case_variant(draw: st.DrawFn, text: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in text)


@st.composite
def gmail_variant(draw: st.DrawFn, name: str) -> str:
    dotted = "".join(c + ("." * draw(st.integers(0, 2))) for c in name)
    tag = draw(st.none() | TAGS)
    domain = draw(st.sampled_from(["gmail.com", "googlemail.com"]))
    return draw(case_variant(dotted)) + ("" if tag is None else f"+{tag}") + "@" + draw(case_variant(domain))


@settings(max_examples=300, deadline=None)
@given(st.data(), GMAIL_NAMES)
def test_every_gmail_variant_of_a_mailbox_gets_its_key(data: st.DataObject, name: str) -> None:
    variants = [data.draw(gmail_variant(name)) for _ in range(3)]
    assert {normalized_email(variant) for variant in variants} == {f"{name}@gmail.com"}
    assert {email_key(variant, SECRET) for variant in variants} == {email_key(f"{name}@gmail.com", SECRET)}


@settings(max_examples=300, deadline=None)
@given(st.data(), LOCAL_PARTS, st.sampled_from(["example.com", "mail.example.co.uk", "outlook.com"]))
def test_case_and_tag_variants_elsewhere_get_one_key_but_dots_count(
    data: st.DataObject, local: str, domain: str
) -> None:
    tag = data.draw(st.none() | TAGS)
    variant = (
        data.draw(case_variant(local)) + ("" if tag is None else f"+{tag}") + "@" + data.draw(case_variant(domain))
    )
    assert email_key(variant, SECRET) == email_key(f"{local}@{domain}", SECRET)
    assert email_key(f"{local}.x@{domain}", SECRET) != email_key(f"{local}x@{domain}", SECRET)


@given(LOCAL_PARTS, LOCAL_PARTS)
def test_different_mailboxes_get_different_keys(one: str, other: str) -> None:
    if normalized_email(f"{one}@example.com") != normalized_email(f"{other}@example.com"):
        assert email_key(f"{one}@example.com", SECRET) != email_key(f"{other}@example.com", SECRET)


def test_the_key_is_a_keyed_hash_that_shows_nothing_of_the_address() -> None:
    key = email_key("bob@example.com", SECRET)
    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")
    assert key != email_key("bob@example.com", OTHER_SECRET)  # without the secret, no address can be tried


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        email_key("bob@example.com", b"short")


@pytest.mark.parametrize(
    ("owner", "signal"),
    [
        ("bob", None),  # the referee's own key: a retry of their signup
        ("alice", ReviewSignal.EMAIL_OF_REFERRER),
        ("carol", ReviewSignal.EMAIL_OF_OTHER_USER),
    ],
)
def test_a_shared_email_names_whose_it_is(owner: str, signal: ReviewSignal | None) -> None:
    assert shared_email_signal(owner, referee_id="bob", referrer_id="alice") == signal


def test_the_burst_signal_is_off_unless_asked_for() -> None:
    assert not is_referral_burst(NOW, [NOW - 1] * 24, per_hour=None)


@pytest.mark.parametrize(
    ("earlier", "flagged"),
    [
        ([], False),
        ([NOW - 10, NOW - 20], False),  # the third in the hour: not more than 3
        ([NOW - 10, NOW - 20, NOW - HOUR_MS + 1], True),  # the fourth
        ([NOW - 10, NOW - 20, NOW - HOUR_MS], False),  # exactly an hour ago is outside the hour
        ([NOW - 10, NOW - 20, 0, 0], False),  # 0: no ticket remembered there
        ([NOW + 50, NOW - 10, NOW - 20], True),  # a container whose clock runs ahead still counts
    ],
)
def test_the_burst_signal_counts_the_hour_up_to_now(earlier: list[int], flagged: bool) -> None:
    assert is_referral_burst(NOW, earlier, per_hour=3) is flagged


def test_a_burst_of_one_per_hour_flags_a_second_signup() -> None:
    assert not is_referral_burst(NOW, [0] * 24, per_hour=1)
    assert is_referral_burst(NOW, [NOW - 1], per_hour=1)
