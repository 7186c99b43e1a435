"""One local deployment for the module: its own emulator port and scratch directory, applied once.

Teardown destroys whatever the tests left deployed, stops the emulator and removes the directory,
also when a test or the apply failed.
"""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local_stack import LocalDeployment, deploy, running_emulator, tear_down
from tools.referral_flow import FlowResult, run_flow


@pytest.fixture(scope="module")
def deployment() -> Iterator[LocalDeployment]:
    # Not tmp_path_factory: pytest keeps its last runs, and every run here would leave an emulator's state.
    workdir = Path(tempfile.mkdtemp(prefix="referral-e2e-"))
    try:
        with running_emulator(workdir / "moto.log") as emulator:
            deployed = deploy(emulator, workdir)
            try:
                yield deployed
            finally:
                # The last test destroys and checks the state; this covers runs that skip it.
                if emulator.is_running() and deployed.terraform.state_addresses():
                    tear_down(deployed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def flow(deployment: LocalDeployment) -> FlowResult:
    return run_flow(deployment)
