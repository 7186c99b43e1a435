"""Suite-wide hooks."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked run_last go after everything else, so they see what the suite left behind."""
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)
