"""Suite-wide hooks."""

from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests go after the fast ones (their deployment is applied in the background
    meanwhile, tests/e2e/conftest.py); tests marked run_last go after everything, so they see
    what the suite left behind."""
    items.sort(key=lambda item: (item.get_closest_marker("run_last") is not None, E2E_DIR in Path(item.path).parents))
