"""moto in this process, set up exactly as the handler tests set it up (tests/lambdas/fake_aws.py).

The tests' `aws` fixture is a generator function under pytest's decorator; calling the function
it wraps (inspect.unwrap follows the decorator's __wrapped__) gives the same tables, topic, bucket
and function environment, without running pytest.
"""

import inspect
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.lambdas.fake_aws import FakeAws, aws


@contextmanager
def emulated_aws() -> Iterator[FakeAws]:
    with pytest.MonkeyPatch.context() as monkeypatch, contextmanager(inspect.unwrap(aws))(monkeypatch) as fake:
        yield fake
