"""The reward lifecycle's settings, as a function reads them from its environment, and the hold rule.

The stack checks the operator's values at synth and hands the functions canonical text (a number
of days, `signup` or `event`, `true` or `false`); a function refuses anything else at its cold
start, naming every bad variable at once, so an environment edited by hand fails loudly instead of
paying by the wrong rules. Unset or blank means the default, which is today's behaviour: no hold,
qualified at signup, shared e-mails flagged, no burst signal.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from referrals.signup_queue import RECENT_TICKETS

HOLD_DAYS_VARIABLE = "REWARD_HOLD_DAYS"
QUALIFICATION_VARIABLE = "REWARD_QUALIFICATION"
SHARED_EMAIL_VARIABLE = "REVIEW_SHARED_EMAIL"
BURST_VARIABLE = "REVIEW_BURST_PER_HOUR"
MAX_HOLD_DAYS = 365
# The burst signal counts the arrivals the referrer's signup queue remembers: it cannot see more.
MAX_BURST_PER_HOUR = RECENT_TICKETS
DAY_MS = 86_400_000
_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")


class Qualification(StrEnum):
    SIGNUP = "signup"  # a reward is qualified when it is earned
    EVENT = "event"  # ... when the host application reports the referee's qualifying action


class LifecycleConfigError(ValueError):
    """A lifecycle setting the function cannot work with; the message names every bad variable."""


@dataclass(frozen=True)
class LifecycleSettings:
    hold_days: int = 0
    qualification: Qualification = Qualification.SIGNUP
    flag_shared_email: bool = True  # the referee's e-mail is the referrer's or another user's
    burst_per_hour: int | None = None  # flag more referrals than this for one referrer in an hour; None: off

    def payable_at(self, qualified_at_ms: int, now_ms: int) -> int:
        """When a reward that becomes payable now (qualified at `qualified_at_ms`) may be paid: the
        first payout whose cutoff is later pays it. The hold runs from qualification, and an
        approval after it does not reach back before itself."""
        return max(qualified_at_ms + self.hold_days * DAY_MS, now_ms)


def parse_lifecycle_settings(env: Mapping[str, str]) -> LifecycleSettings:
    errors: list[str] = []
    settings = LifecycleSettings(
        hold_days=_hold_days(_given(env, HOLD_DAYS_VARIABLE), errors),
        qualification=_qualification(_given(env, QUALIFICATION_VARIABLE), errors),
        flag_shared_email=_flag(_given(env, SHARED_EMAIL_VARIABLE), errors),
        burst_per_hour=_burst(_given(env, BURST_VARIABLE), errors),
    )
    if errors:
        raise LifecycleConfigError("invalid reward lifecycle settings:\n  " + "\n  ".join(errors))
    return settings


def _given(env: Mapping[str, str], variable: str) -> str | None:
    text = env.get(variable)
    return None if text is None or not text.strip() else text


def _hold_days(text: str | None, errors: list[str]) -> int:
    if text is None:
        return 0
    if not _WHOLE_NUMBER.fullmatch(text) or int(text) > MAX_HOLD_DAYS:
        errors.append(f"{HOLD_DAYS_VARIABLE}={text!r} must be a whole number of days from 0 to {MAX_HOLD_DAYS}")
        return 0
    return int(text)


def _qualification(text: str | None, errors: list[str]) -> Qualification:
    if text is None:
        return Qualification.SIGNUP
    if text not in tuple(Qualification):
        errors.append(f"{QUALIFICATION_VARIABLE}={text!r} must be {' or '.join(Qualification)}")
        return Qualification.SIGNUP
    return Qualification(text)


def _flag(text: str | None, errors: list[str]) -> bool:
    if text is None:
        return True
    if text not in ("true", "false"):
        errors.append(f"{SHARED_EMAIL_VARIABLE}={text!r} must be true or false")
        return True
    return text == "true"


def _burst(text: str | None, errors: list[str]) -> int | None:
    if text is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_BURST_PER_HOUR:
        errors.append(
            f"{BURST_VARIABLE}={text!r} must be a whole number from 1 to {MAX_BURST_PER_HOUR}"
            " (leave it unset to turn the signal off)"
        )
        return None
    return int(text)
