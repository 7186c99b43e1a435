"""Review signals: what flags a new referral's reward for review instead of letting it be paid.

Decisions only. The store learns who already owns a referee's e-mail key (the signup transaction
puts the key item on condition that it does not exist, and a refusal names its owner), and the
referrer's recent signups come back with the queue ticket the signup takes anyway; so an honest
signup still makes its two calls. docs/lifecycle-design.md says how each signal is stored.

No plain e-mail address becomes a key: the key is an HMAC of the normalized address under a
secret of the deployment, so the table (or a log line that names a key) cannot be searched for an
address without that secret.
"""

import hashlib
import hmac
from collections.abc import Iterable
from enum import StrEnum

# Gmail ignores dots in the local part, and googlemail.com is the same mailbox as gmail.com.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
GMAIL = "gmail.com"
# Shorter would let a brute force over likely addresses find the secret; HMAC-SHA256's own size.
MIN_KEY_BYTES = 32
HOUR_MS = 3_600_000


class ReviewSignal(StrEnum):
    EMAIL_OF_REFERRER = "email_of_referrer"  # the referee's normalized e-mail is the referrer's
    EMAIL_OF_OTHER_USER = "email_of_other_user"  # ... or another user's
    REFERRAL_BURST = "referral_burst"  # more than REVIEW_BURST_PER_HOUR referrals for the referrer in an hour


def normalized_email(address: str) -> str:
    """The mailbox an address delivers to, as most providers read it: case ignored, `+tag`
    dropped, and for Gmail the dots too, with googlemail.com as gmail.com."""
    local, at, domain = address.rpartition("@")
    if not at or "@" in local:
        raise ValueError("an e-mail address has exactly one '@'")
    local, domain = local.casefold().partition("+")[0], domain.casefold()
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), GMAIL
    return f"{local}@{domain}"


def email_key(address: str, secret: bytes) -> str:
    """The key that stands for the address's mailbox: the same for every variant of it."""
    if len(secret) < MIN_KEY_BYTES:
        raise ValueError(f"the e-mail key secret must be at least {MIN_KEY_BYTES} bytes")
    return hmac.new(secret, normalized_email(address).encode("utf-8"), hashlib.sha256).hexdigest()


def shared_email_signal(email_owner: str, referee_id: str, referrer_id: str) -> ReviewSignal | None:
    """The signal when the referee's e-mail key belongs to `email_owner` already (None: to the referee)."""
    if email_owner == referee_id:
        return None  # the referee's own key: an identical retry of their signup
    return ReviewSignal.EMAIL_OF_REFERRER if email_owner == referrer_id else ReviewSignal.EMAIL_OF_OTHER_USER


def is_referral_burst(now_ms: int, earlier_arrivals_ms: Iterable[int], per_hour: int | None) -> bool:
    """More than `per_hour` signups for one referrer within the hour up to `now_ms`, this one
    included (`per_hour` None: the signal is off). `earlier_arrivals_ms` are the arrival times the
    referrer's signup queue remembers (0: none), so `per_hour` may be at most as many as it keeps."""
    if per_hour is None:
        return False
    # No upper bound: an arrival a little ahead of now came from a container whose clock runs ahead.
    within_the_hour = sum(1 for arrival in earlier_arrivals_ms if arrival and arrival > now_ms - HOUR_MS)
    return within_the_hour + 1 > per_hour
