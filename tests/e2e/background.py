"""Two environments on one emulator for the module, each with its own scratch directory.

The first (`local`) applies both stacks: tap-account, then its tap-stack, and plans them right
after (in the background too); the tests drive it and the last one destroys it. The second
(`local2`) applies only its tap-stack, as soon as the first's tap-account is in place, and shares
it: the account's settings exist once per account and region (stacks/account_stack.py). Its
whole life runs in the background (apply, plan, destroy) and the tests read what it saw
(SecondEnvironment).

`terraform apply` spends most of its ~85 s in the AWS provider's own propagation waits (sleeping,
not computing), so both start in background threads as soon as collection is done and overlap
with each other and the rest of the suite; the e2e tests run last (tests/conftest.py) and wait.

Teardown destroys whatever the tests left deployed, stops the emulator and removes the directories,
also when a test or an apply failed, or the session ends early.
"""

import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tools.local_stack import (
    Emulator,
    LocalDeployment,
    Terraform,
    deploy_account,
    deploy_environment,
    running_emulator,
    synthesize,
    tear_down,
)
from tools.terraform_plan import Plan

SECOND_SUFFIX = "local2"


@dataclass(frozen=True)
class SecondEnvironment:
    """What the second environment's life in the background saw."""

    deployment: LocalDeployment
    applied: list[str]  # terraform state list after its apply
    plan: Plan  # terraform plan right after its apply
    left: list[str]  # terraform state list after its destroy


class BackgroundDeployment:
    """Emulator + applies started early in worker threads; closed once, whoever gets there first."""

    def __init__(self) -> None:
        self._resources = ExitStack()  # the emulator and the first environment
        self._second_resources = ExitStack()  # closed first: it needs the emulator to destroy
        self._account: Future[tuple[Emulator, Terraform]] = Future()  # the first's tap-account, applied
        self.first: Future[LocalDeployment] = Future()  # applied
        self._closing = threading.Event()  # the session ends: no further step starts
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="e2e-deploy")
        self.first_plans: Future[dict[str, Plan]] = self._executor.submit(self._first_environment)
        self.second: Future[SecondEnvironment] = self._executor.submit(self._second_environment)

    def _first_environment(self) -> dict[str, Plan]:
        """Applies the first environment's stacks and returns their plans right after."""
        try:
            workdir = _scratch_directory(self._resources, "referral-e2e-")
            emulator = self._resources.enter_context(running_emulator(workdir / "moto.log"))
            synthesized = synthesize(emulator.endpoint, workdir)
            account = deploy_account(synthesized)
            self._account.set_result((emulator, account))
            deployed = deploy_environment(emulator, synthesized, account)
            # The last test destroys and checks the state; this covers runs that stop before it.
            self._resources.callback(_destroy_leftovers, deployed, emulator)
            self.first.set_result(deployed)
        except BaseException as error:
            for waited_for in (self._account, self.first):  # who waits fails with it, rather than hang
                if not waited_for.done():
                    waited_for.set_exception(error)
            raise
        self._stop_if_closing()
        return deployed.plans()

    def _second_environment(self) -> SecondEnvironment:
        emulator, account = self._account.result()
        workdir = _scratch_directory(self._second_resources, f"referral-e2e-{SECOND_SUFFIX}-")
        deployed = deploy_environment(emulator, synthesize(emulator.endpoint, workdir, SECOND_SUFFIX), account)
        self._second_resources.callback(_destroy_leftovers, deployed, emulator)
        self._stop_if_closing()
        applied, plan = deployed.terraform.state_addresses(), deployed.terraform.plan()
        self._stop_if_closing()
        tear_down(deployed)  # tap-stack only: the first environment owns tap-account
        return SecondEnvironment(deployed, applied, plan, deployed.terraform.state_addresses())

    def _stop_if_closing(self) -> None:
        if self._closing.is_set():
            raise RuntimeError("the test session ended first")

    def close(self) -> None:
        self._closing.set()
        self._executor.shutdown(wait=True)  # a step in progress finishes (or fails) first
        try:
            self._second_resources.close()
        finally:
            self._resources.close()


def _scratch_directory(resources: ExitStack, prefix: str) -> Path:
    # Not tmp_path_factory: pytest keeps its last runs, and every run here would leave an emulator's state.
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    resources.callback(shutil.rmtree, workdir, ignore_errors=True)
    return workdir


def _destroy_leftovers(deployed: LocalDeployment, emulator: Emulator) -> None:
    if emulator.is_running() and any(stack.state_addresses() for stack in deployed.stacks()):
        tear_down(deployed)
