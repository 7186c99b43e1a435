"""The session's deployments (tests/e2e/background.py), started when collection is done, closed once.

Every e2e module shares them (the deployment, its plans, the second environment and the flow are
session-scoped) and they are closed at the end of the session. The test that destroys the
deployment runs after every other e2e test, whichever order the modules were given in.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.background import BackgroundDeployment, SecondEnvironment
from tools.local_stack import LocalDeployment
from tools.referral_flow import FlowResult, run_flow
from tools.terraform_plan import Plan

E2E_DIR = Path(__file__).resolve().parent
DESTROY_TEST = "test_destroy_leaves_both_states_empty"  # tests/e2e/test_local_deployment.py

_background: BackgroundDeployment | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _background  # noqa: PLW0603 - one deployment per session, shared by hook and fixture
    wants_e2e = any(E2E_DIR in Path(item.path).parents for item in session.items)
    if wants_e2e and shutil.which("terraform") is not None and not session.config.option.collectonly:
        _background = BackgroundDeployment()


@pytest.hookimpl(trylast=True)  # after tests/conftest.py has put the e2e tests last
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    destroying = [item for item in items if item.name == DESTROY_TEST]
    if not destroying:
        return
    for item in destroying:
        items.remove(item)
    last_e2e = max((index for index, item in enumerate(items) if E2E_DIR in Path(item.path).parents), default=-1)
    items[last_e2e + 1 : last_e2e + 1] = destroying


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Interrupted or failed before the fixture's teardown ran: stop the emulator all the same.
    if _background is not None:
        _background.close()


@pytest.fixture(scope="session")
def deployment() -> Iterator[LocalDeployment]:
    if _background is None:
        pytest.skip("terraform CLI not installed")
    try:
        yield _background.first.result()
    finally:
        _background.close()


@pytest.fixture(scope="session")
def plans_after_apply(deployment: LocalDeployment) -> dict[str, Plan]:
    """terraform plan of `deployment`'s stacks (tap-account, tap-stack) right after their apply."""
    assert _background is not None  # `deployment` skipped otherwise
    return _background.first_plans.result()


@pytest.fixture(scope="session")
def second_environment(deployment: LocalDeployment) -> SecondEnvironment:
    """Another environment (ENVIRONMENT_SUFFIX=local2) beside `deployment`, sharing its tap-account;
    applied, planned and destroyed by the time this returns."""
    assert _background is not None  # `deployment` skipped otherwise
    return _background.second.result()


@pytest.fixture(scope="session")
def flow(deployment: LocalDeployment) -> FlowResult:
    return run_flow(deployment)
