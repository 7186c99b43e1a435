"""One local deployment for the module: its own emulator port and scratch directory, applied once.

`terraform apply` spends most of its ~85 s in the AWS provider's own propagation waits (sleeping,
not computing), so it starts in a background thread as soon as collection is done and overlaps
with the rest of the suite; the e2e tests run last (tests/conftest.py) and wait for it.

Teardown destroys whatever the tests left deployed, stops the emulator and removes the directory,
also when a test or the apply failed, or the session ends early.
"""

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tools.local_stack import Emulator, LocalDeployment, deploy, running_emulator, tear_down
from tools.referral_flow import FlowResult, run_flow

E2E_DIR = Path(__file__).resolve().parent


class BackgroundDeployment:
    """Emulator + apply started early in a worker thread; closed once, whoever gets there first."""

    def __init__(self) -> None:
        self._resources = ExitStack()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-deploy")
        self.future: Future[LocalDeployment] = self._executor.submit(self._deploy)

    def _deploy(self) -> LocalDeployment:
        # Not tmp_path_factory: pytest keeps its last runs, and every run here would leave an emulator's state.
        workdir = Path(tempfile.mkdtemp(prefix="referral-e2e-"))
        self._resources.callback(shutil.rmtree, workdir, ignore_errors=True)
        emulator = self._resources.enter_context(running_emulator(workdir / "moto.log"))
        deployed = deploy(emulator, workdir)
        # The last test destroys and checks the state; this covers runs that stop before it.
        self._resources.callback(_destroy_leftovers, deployed, emulator)
        return deployed

    def close(self) -> None:
        self._executor.shutdown(wait=True)  # an apply in progress finishes (or fails) first
        self._resources.close()


def _destroy_leftovers(deployed: LocalDeployment, emulator: Emulator) -> None:
    if emulator.is_running() and deployed.terraform.state_addresses():
        tear_down(deployed)


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
        yield _background.future.result()
    finally:
        _background.close()


@pytest.fixture(scope="module")
def flow(deployment: LocalDeployment) -> FlowResult:
    return run_flow(deployment)
