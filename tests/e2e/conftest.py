"""The module's deployments (tests/e2e/background.py), started when collection is done, closed once."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.background import BackgroundDeployment, SecondEnvironment
from tools.local_stack import LocalDeployment
from tools.referral_flow import FlowResult, run_flow
from tools.terraform_plan import Plan

E2E_DIR = Path(__file__).resolve().parent

_background: BackgroundDeployment | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _background  # noqa: PLW0603 - one deployment per session, shared by hook and fixture
    wants_e2e = any(E2E_DIR in Path(item.path).parents for item in session.items)
    if wants_e2e and shutil.which("terraform") is not None and not session.config.option.collectonly:
        _background = BackgroundDeployment()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Interrupted or failed before the module's teardown ran: stop the emulator all the same.
    if _background is not None:
        _background.close()


@pytest.fixture(scope="module")
def deployment() -> Iterator[LocalDeployment]:
    if _background is None:
        pytest.skip("terraform CLI not installed")
    try:
        yield _background.first.result()
    finally:
        _background.close()


@pytest.fixture(scope="module")
def plans_after_apply(deployment: LocalDeployment) -> dict[str, Plan]:
    """terraform plan of `deployment`'s stacks (tap-account, tap-stack) right after their apply."""
    assert _background is not None  # `deployment` skipped otherwise
    return _background.first_plans.result()


@pytest.fixture(scope="module")
def second_environment(deployment: LocalDeployment) -> SecondEnvironment:
    """Another environment (ENVIRONMENT_SUFFIX=local2) beside `deployment`, sharing its tap-account;
    applied, planned and destroyed by the time this returns."""
    assert _background is not None  # `deployment` skipped otherwise
    return _background.second.result()


@pytest.fixture(scope="module")
def flow(deployment: LocalDeployment) -> FlowResult:
    return run_flow(deployment)
