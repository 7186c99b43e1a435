"""The synthesized stacks on a local AWS emulator: moto_server, `main.py` and Terraform against it.

Shared by `make demo` (tools/demo.py) and tests/e2e. What is applied is exactly what `main.py`
writes; LOCAL_AWS_ENDPOINT only points the AWS provider at the emulator (stacks/local_emulator.py).

main.py writes two stacks: tap-account (once per account and region, shared by every environment)
and tap-stack (one environment). Deploying applies tap-account first, then tap-stack; tearing down
destroys them the other way round. Another environment (ENVIRONMENT_SUFFIX) on the same emulator
gets a scratch directory of its own and shares the first one's tap-account, which it does not
apply or destroy (`deploy_environment`).
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tools.emulator_gaps import EMULATOR_DESTROY_GAPS
from tools.terraform_plan import DETAILED_EXIT_CHANGES, Plan

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "tap-stack"  # one environment, as main.py synthesizes it
ACCOUNT_STACK_NAME = "tap-account"  # the account and region's settings, shared by every environment
REGION = "us-east-1"
FAKE_ACCESS_KEY = "test"  # moto accepts any credentials
LOCAL_SUFFIX = "local"  # ENVIRONMENT_SUFFIX: resource names end in -local
# A throwaway environment: no deletion protection on the tables, so `terraform destroy` removes them.
LOCAL_SETTINGS = {"AWS_REGION": REGION, "DELETION_PROTECTION": "false"}
# All that synthesis takes from the caller's environment: a stack setting left in the shell
# (STATE_BUCKET, REWARD_TIERS, ...) must not change what the demo deploys.
SYNTH_PASSTHROUGH = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL")
PROVIDER_MIRROR = Path("/opt/tf-plugins")
OFFLINE_TFRC = PROJECT_ROOT / "tools" / "terraform-offline.tfrc"
EMULATOR_START_SECONDS = 30
STEP_TIMEOUT_SECONDS = 600
QUERY_TIMEOUT_SECONDS = 60
PLAN_FILE = "plan.tfplan"  # in the stack directory, like docs/deploy.md's plain Terraform steps

# (phase name, what it does) -> a context around the phase; the demo prints progress and timings.
Phase = Callable[[str, str], AbstractContextManager[object]]
OnLine = Callable[[str], None]


def quiet_phase(name: str, what: str) -> AbstractContextManager[object]:
    return nullcontext()


class StepFailed(RuntimeError):
    """A step of the local deployment failed; the message names it and quotes the tool's own words."""


# Emulator ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    process: "subprocess.Popen[bytes]"
    log_path: Path

    def is_running(self) -> bool:
        return self.process.poll() is None


@contextmanager
def running_emulator(log_path: Path) -> Iterator[Emulator]:
    """moto_server on a free port of 127.0.0.1 for the duration of the block, stopped however it ends."""
    emulator = _start_emulator(log_path)
    try:
        _wait_until_answering(emulator)
        yield emulator
    finally:
        _stop(emulator.process)


def _start_emulator(log_path: Path) -> Emulator:
    port = _free_port()
    with log_path.open("wb") as log:  # the child writes through its own copy of the descriptor
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            # moto's server, keeping the tables' stream records as AWS does (tools/moto_server.py).
            [sys.executable, "-m", "tools.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            # The stack attaches two AWS managed policies (API Gateway's logging role, Lambda
            # Insights); moto has them only when asked to load its copy of the managed policies.
            env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        )
    return Emulator(f"http://127.0.0.1:{port}", process, log_path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(emulator: Emulator) -> None:
    deadline = time.monotonic() + EMULATOR_START_SECONDS
    while time.monotonic() < deadline:
        if not emulator.is_running():
            raise StepFailed(
                f"moto_server exited with status {emulator.process.returncode}:\n{tail(emulator.log_path)}"
            )
        try:
            # Our own http://127.0.0.1 URL, not user input.
            with urllib.request.urlopen(f"{emulator.endpoint}/moto-api/", timeout=1):  # noqa: S310
                return
        except OSError:  # refused while it starts
            time.sleep(0.2)
    raise StepFailed(f"moto_server did not answer within {EMULATOR_START_SECONDS} s:\n{tail(emulator.log_path)}")


def _stop(process: "subprocess.Popen[Any]") -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Synthesis and Terraform ------------------------------------------------------------------------


@dataclass(frozen=True)
class Synthesized:
    """What main.py wrote for one environment: the account stack and the environment's stack."""

    suffix: str
    account: "Terraform"
    environment: "Terraform"


def synthesize(endpoint: str, workdir: Path, suffix: str = LOCAL_SUFFIX) -> Synthesized:
    """Runs main.py (what `make synth` runs) with the local settings for environment `suffix`.

    In a child process, so jsii's Node process ends with it. cwd=workdir puts cdktf.out/ and the
    local state files (which sit next to cdktf.out/, see stacks/backend.py) in workdir.
    """
    environment = {name: os.environ[name] for name in SYNTH_PASSTHROUGH if name in os.environ}
    environment |= LOCAL_SETTINGS | {
        "ENVIRONMENT_SUFFIX": suffix,
        "LOCAL_AWS_ENDPOINT": endpoint,
        "PYTHONPATH": str(PROJECT_ROOT),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    run_logged([sys.executable, str(PROJECT_ROOT / "main.py")], cwd=workdir, env=environment, log=workdir / "synth.log")
    stacks = workdir / "cdktf.out" / "stacks"
    return Synthesized(suffix, Terraform(stacks / ACCOUNT_STACK_NAME), Terraform(stacks / STACK_NAME))


def terraform_environment() -> dict[str, str]:
    # The caller's AWS settings (profile, keys, endpoint URLs) must not reach the provider: its
    # local configuration names the emulator and the fake credentials itself.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment |= {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    if PROVIDER_MIRROR.is_dir() and not Path(environment.get("TF_CLI_CONFIG_FILE") or "/nonexistent").is_file():
        # No registry on this machine: the AWS provider comes from the mirror (docs/deploy.md, Offline Terraform).
        environment["TF_CLI_CONFIG_FILE"] = str(OFFLINE_TFRC)
    return environment


@dataclass(frozen=True)
class Terraform:
    stack_dir: Path

    @property
    def stack(self) -> str:
        return self.stack_dir.name

    def init(self) -> None:
        self._run("init", "-input=false", "-no-color")

    def apply(self, on_line: OnLine | None = None) -> None:
        self._run("apply", "-auto-approve", "-input=false", "-no-color", on_line=on_line)

    def destroy(self, on_line: OnLine | None = None) -> None:
        # No refresh: the state was written by our own apply moments ago, and refreshing reads
        # every resource again (the bucket lifecycle's read alone waits for it to look stable).
        self._run("destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false", on_line=on_line)

    def plan(self) -> Plan:
        """`terraform plan -detailed-exitcode` (refreshing every resource) into a plan file, read back
        with `terraform show -json`: what Terraform would change to make the emulator match the JSON."""
        status = self._run("plan", "-detailed-exitcode", "-input=false", "-no-color", f"-out={PLAN_FILE}", ok=(0, 2))
        plan = Plan.from_json(json.loads(self._query("show", "-json", PLAN_FILE)))
        if (status == DETAILED_EXIT_CHANGES) != bool(plan.changes):
            raise StepFailed(f"terraform plan exited {status}, but its plan file lists {plan.changes}")
        return plan

    def outputs(self) -> dict[str, Any]:
        return {name: output["value"] for name, output in json.loads(self._query("output", "-json")).items()}

    def forget(self, *addresses: str) -> None:
        """terraform state rm: Terraform no longer manages them (and will not destroy them)."""
        self._run("state", "rm", "-no-color", *addresses)

    def synthesized_json(self) -> str:
        return (self.stack_dir / "cdk.tf.json").read_text()

    def state_addresses(self) -> list[str]:
        return self._query("state", "list").split()

    def _run(self, *args: str, on_line: OnLine | None = None, ok: tuple[int, ...] = (0,)) -> int:
        log = self.stack_dir / f"terraform-{args[0]}.log"  # Terraform reads only *.tf and *.tf.json here
        return run_logged(
            ["terraform", *args], cwd=self.stack_dir, env=terraform_environment(), log=log, on_line=on_line, ok=ok
        )

    def _query(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - an argument list, no shell
            ["terraform", *args],  # noqa: S607 - Terraform from PATH, like `make` and docs/deploy.md
            cwd=self.stack_dir,
            env=terraform_environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=QUERY_TIMEOUT_SECONDS,
        )
        if result.returncode != 0:
            raise StepFailed(f"terraform {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr}")
        return result.stdout


def run_logged(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    on_line: OnLine | None = None,
    ok: tuple[int, ...] = (0,),
) -> int:
    """Runs a command with its output in a log file (and line by line to on_line); StepFailed unless
    its exit status is one of `ok`, which it returns."""
    with log.open("w") as sink:
        process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        watchdog = threading.Timer(STEP_TIMEOUT_SECONDS, process.kill)
        watchdog.start()
        try:
            for line in process.stdout or ():
                sink.write(line)
                if on_line is not None:
                    on_line(line)
            status = process.wait()
        finally:
            watchdog.cancel()
            _stop(process)  # only still running when we were interrupted
    if status not in ok:
        name = Path(command[1]).name if command[0] == sys.executable else " ".join(command[:2])
        raise StepFailed(f"{name} failed (exit {status}); from {log}:\n{error_excerpt(log)}")
    return status


def error_excerpt(log: Path, lines: int = 25) -> str:
    """Terraform's `Error:` blocks when there are any (the rest is progress), else the last lines."""
    text = log.read_text(errors="replace")
    start = text.find("Error:")
    return text[start:].strip() if start >= 0 else tail(log, lines)


def tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# The deployment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalDeployment:
    endpoint: str
    suffix: str  # ENVIRONMENT_SUFFIX
    terraform: Terraform  # tap-stack: this environment
    account: Terraform  # tap-account, applied by this deployment or by the first environment's
    owns_account: bool  # False: another environment applied tap-account and destroys it
    outputs: dict[str, Any]  # terraform output: table, bucket, function names, API id, ...

    def client(self, service: str) -> Any:
        return aws_client(service, self.endpoint)

    def stacks(self) -> list[Terraform]:
        """The stacks this deployment applied, in the order it applied them."""
        return [self.account, self.terraform] if self.owns_account else [self.terraform]

    def plans(self) -> dict[str, Plan]:
        """terraform plan of each of its stacks, side by side: each mostly waits for the emulator."""
        stacks = self.stacks()
        with ThreadPoolExecutor(max_workers=len(stacks), thread_name_prefix="terraform-plan") as pool:
            return dict(zip((stack.stack for stack in stacks), pool.map(Terraform.plan, stacks), strict=True))


def deploy(
    emulator: Emulator, workdir: Path, phase: Phase = quiet_phase, on_apply_line: OnLine | None = None
) -> LocalDeployment:
    """The first environment (`local`) on the emulator: tap-account, then tap-stack."""
    with phase("synth", f"main.py with LOCAL_AWS_ENDPOINT={emulator.endpoint}"):
        synthesized = synthesize(emulator.endpoint, workdir)
    account = deploy_account(synthesized, phase)
    return deploy_environment(emulator, synthesized, account, phase, on_apply_line)


def deploy_account(synthesized: Synthesized, phase: Phase = quiet_phase) -> Terraform:
    """terraform init and apply of tap-account, which every environment's tap-stack needs first
    (the stage's access logs go through the account's CloudWatch role)."""
    account = synthesized.account
    with phase("account", f"terraform init + apply -auto-approve of {ACCOUNT_STACK_NAME} ({_init_source()})"):
        account.init()
        account.apply()
    return account


def deploy_environment(
    emulator: Emulator,
    synthesized: Synthesized,
    account: Terraform,
    phase: Phase = quiet_phase,
    on_apply_line: OnLine | None = None,
) -> LocalDeployment:
    """terraform init and apply of the environment's tap-stack, once `account` is applied.

    `account` may come from another environment's scratch directory: every environment
    synthesizes the same tap-account (its names, tags and state key depend only on the region),
    which this checks, so the one applied stands for all of them."""
    if synthesized.account.synthesized_json() != account.synthesized_json():
        raise StepFailed(
            f"{ACCOUNT_STACK_NAME} of environment {synthesized.suffix!r} ({synthesized.account.stack_dir}) "
            f"differs from the one applied ({account.stack_dir}): it must not depend on ENVIRONMENT_SUFFIX"
        )
    terraform = synthesized.environment
    with phase("init", f"terraform init of {STACK_NAME} ({_init_source()})"):
        terraform.init()
    with phase("apply", f"terraform apply -auto-approve of {STACK_NAME} (ENVIRONMENT_SUFFIX={synthesized.suffix})"):
        terraform.apply(on_apply_line)
    owns_account = synthesized.account.stack_dir == account.stack_dir
    return LocalDeployment(emulator.endpoint, synthesized.suffix, terraform, account, owns_account, terraform.outputs())


def _init_source() -> str:
    return "offline, provider mirror" if PROVIDER_MIRROR.is_dir() else "providers from the registry"


def tear_down(deployment: LocalDeployment, phase: Phase = quiet_phase, on_line: OnLine | None = None) -> None:
    """terraform destroy of tap-stack, after emptying the reports bucket (S3 deletes only an empty
    bucket, and the stack rightly does not set force_destroy on a bucket of payout reports); then
    of tap-account, unless another environment applied it (and may still need it)."""
    with phase("destroy", f"empty the reports bucket, terraform destroy -auto-approve of {STACK_NAME}"):
        empty_bucket(deployment.client("s3"), deployment.outputs["s3-bucket"])
        _destroy_on_emulator(deployment.terraform, on_line)
    if deployment.owns_account:
        what = f"terraform destroy -auto-approve of {ACCOUNT_STACK_NAME} (moto's gaps: tools/emulator_gaps.py)"
        with phase("destroy", what):
            _destroy_on_emulator(deployment.account)


def _destroy_on_emulator(terraform: Terraform, on_line: OnLine | None = None) -> None:
    # What moto cannot destroy is left to the emulator, which is discarded (tools/emulator_gaps.py).
    undestroyable = [address for address in terraform.state_addresses() if address in EMULATOR_DESTROY_GAPS]
    if undestroyable:
        terraform.forget(*undestroyable)
    terraform.destroy(on_line)


def empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])  # the bucket is versioned
        if versions:
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def aws_client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY, aws_secret_access_key=FAKE_ACCESS_KEY, region_name=REGION
    )
    # Path-style S3: the emulator is one host, buckets cannot be subdomains of 127.0.0.1.
    return session.client(service, endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
