"""The secret the e-mail keys are made with, derived from the deployment's KMS HMAC key (AWS edge).

The key material never leaves KMS: the secret is KMS's HMAC-SHA256 of a constant message under the
key, asked once per container (cached by key ARN; a refusal is not cached, so the next request
asks again) and kept in memory only. The same key and message give the same secret in every
container, so every function and the CLI's backfill make the same key of an address; the version
in the message leaves room for another secret without another KMS key.
"""

from collections.abc import Mapping
from functools import cache

from referrals.aws_clients import client
from referrals.lifecycle_settings import SHARED_EMAIL_VARIABLE, LifecycleConfigError, LifecycleSettings

KEY_ARN_VARIABLE = "REVIEW_EMAIL_KEY_ARN"
SECRET_MESSAGE = b"referral-email-key/v1"
MAC_ALGORITHM = "HMAC_SHA_256"


def email_key_arn(settings: LifecycleSettings, env: Mapping[str, str]) -> str | None:
    """The HMAC key's ARN when the shared-e-mail signal is on (None: off). Read at cold start, so a
    function that would flag shared e-mails without a key fails at once instead of at a signup."""
    if not settings.flag_shared_email:
        return None
    arn = (env.get(KEY_ARN_VARIABLE) or "").strip()
    if not arn:
        raise LifecycleConfigError(
            f"{KEY_ARN_VARIABLE} must name the KMS HMAC key of the e-mail keys while {SHARED_EMAIL_VARIABLE} is on"
        )
    return arn


@cache
def email_key_secret(key_arn: str) -> bytes:
    response = client("kms").generate_mac(KeyId=key_arn, Message=SECRET_MESSAGE, MacAlgorithm=MAC_ALGORITHM)
    return bytes(response["Mac"])
