"""The one place that creates boto3 clients: once per container, in the function's own region.

Clients are created on first use, not at import, so a cold start that fails validation never
pays for them. `AWS_ENDPOINT_URL` (read by botocore itself) lets the local demo point every
client at an emulator without a code path of its own.
"""

import os
import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Retries of throttling and transient errors stay inside botocore (standard mode); our own
# code retries only what needs a new decision (a transaction conflict needs a re-read).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)
_creation_lock = threading.Lock()  # boto3's default session is not thread-safe while creating


def client(service: str) -> Any:
    return _client(service, os.environ["REGION"], os.environ.get("AWS_ENDPOINT_URL", ""))


@cache
def _client(service: str, region: str, endpoint: str) -> Any:
    with _creation_lock:
        return boto3.client(service, region_name=region, config=CLIENT_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests that change the region or endpoint)."""
    _client.cache_clear()
