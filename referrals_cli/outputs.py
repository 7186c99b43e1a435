"""Where the deployment is: the tap-stack's Terraform outputs (names declared in stacks/tap_stack.py).

Read with `terraform output -json` in the synthesized stack directory (whatever backend it uses,
local state or S3), or from a file holding that command's output.
"""

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referrals_cli.errors import CliError

DEFAULT_STACK_DIR = Path("cdktf.out/stacks/tap-stack")
TERRAFORM_TIMEOUT_SECONDS = 120  # an S3 backend is read over the network
# Outputs whose values are ARNs: the deployment's region is the one in them.
ARN_OUTPUTS = ("sns-topic", "ops-topic-arn", "kms-key-arn")

# (command, cwd) -> the finished process; subprocess.run in production.
RunCommand = Callable[[list[str], Path], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Outputs:
    values: Mapping[str, Any]
    source: str  # where they were read, for messages

    def __getitem__(self, name: str) -> str:
        value = self.values.get(name)
        if not isinstance(value, str) or not value:
            raise CliError(
                f"the deployment has no output {name!r} ({self.source}): "
                "it was deployed from an older version of the stack; deploy the current one (make deploy)"
            )
        return value

    def names(self, name: str) -> list[str]:
        """An output that is a list of names (alarm-names)."""
        value = self.values.get(name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise CliError(
                f"the deployment has no output {name!r} ({self.source}): "
                "it was deployed from an older version of the stack; deploy the current one (make deploy)"
            )
        return value

    @property
    def region(self) -> str | None:
        """The region of the deployment's ARNs (arn:aws:sns:<region>:...), if it has any."""
        for name in ARN_OUTPUTS:
            parts = str(self.values.get(name, "")).split(":")
            if len(parts) > 3 and parts[0] == "arn" and parts[3]:
                return parts[3]
        return None


def load_outputs(stack_dir: Path | None, outputs_file: Path | None, run: RunCommand | None = None) -> Outputs:
    if outputs_file is not None:
        return outputs_from_file(outputs_file)
    return outputs_from_terraform(stack_dir or DEFAULT_STACK_DIR, run or _run)


def outputs_from_file(path: Path) -> Outputs:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read the outputs file {path}: {error.strerror or error}") from error
    return parse_outputs(text, f"outputs file {path}")


def outputs_from_terraform(stack_dir: Path, run: RunCommand) -> Outputs:
    if not (stack_dir / "cdk.tf.json").is_file():
        raise CliError(
            f"no synthesized stack in {stack_dir}: run `make synth` and deploy it, "
            "or pass --stack-dir DIR or --outputs-file FILE"
        )
    try:
        finished = run(["terraform", "output", "-json", "-no-color"], stack_dir)
    except FileNotFoundError as error:
        raise CliError("terraform is not on PATH: install it, or pass --outputs-file FILE") from error
    except subprocess.TimeoutExpired as error:
        raise CliError(
            f"terraform output did not finish within {TERRAFORM_TIMEOUT_SECONDS} s in {stack_dir}"
        ) from error
    if finished.returncode != 0:
        raise CliError(f"terraform output failed in {stack_dir}: {_first_error(finished.stderr)}")
    return parse_outputs(finished.stdout, f"terraform output in {stack_dir}")


def parse_outputs(text: str, source: str) -> Outputs:
    """`terraform output -json`: {"name": {"value": ..., "type": ..., "sensitive": ...}, ...}."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise CliError(f"{source} is not JSON ({error})") from error
    if not isinstance(document, dict) or not all(
        isinstance(entry, dict) and "value" in entry for entry in document.values()
    ):
        raise CliError(f"{source} is not in the format of `terraform output -json`")
    if not document:
        raise CliError(f"the stack is not deployed: {source} lists no outputs (deploy it with make deploy)")
    return Outputs({name: entry["value"] for name, entry in document.items()}, source)


def _first_error(stderr: str) -> str:
    """Terraform's first `Error: ...` line, else its first line of output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("Error:").strip() for line in lines if line.startswith("Error:")]
    return (errors or lines or ["no message"])[0]


def _run(command: list[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    executable = shutil.which(command[0])
    if executable is None:
        raise FileNotFoundError(command[0])
    return subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [executable, *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=TERRAFORM_TIMEOUT_SECONDS,
    )
