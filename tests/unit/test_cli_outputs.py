"""Finding the deployment: `terraform output -json` of the stack directory, or a file of it."""

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from referrals_cli.errors import CliError
from referrals_cli.outputs import load_outputs, outputs_from_terraform, parse_outputs

OUTPUTS = {
    "api-endpoint": {
        "sensitive": False,
        "type": "string",
        "value": "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
    },
    "sns-topic": {
        "sensitive": False,
        "type": "string",
        "value": "arn:aws:sns:eu-west-1:123456789012:reward-notifications-dev",
    },
}


def stack_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tap-stack"
    directory.mkdir()
    (directory / "cdk.tf.json").write_text("{}")
    return directory


def finished(stdout: str = "", stderr: str = "", status: int = 0) -> "subprocess.CompletedProcess[str]":
    return subprocess.CompletedProcess(["terraform"], status, stdout, stderr)


def test_an_outputs_file_gives_the_values_and_the_region_of_their_arns(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))

    outputs = load_outputs(None, path)

    assert outputs["api-endpoint"] == "https://abc.execute-api.eu-west-1.amazonaws.com/dev"
    assert outputs.region == "eu-west-1"


def test_the_stack_directory_is_read_with_terraform_output(tmp_path: Path) -> None:
    directory = stack_dir(tmp_path)
    calls: list[tuple[list[str], Path]] = []

    def run(command: list[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
        calls.append((command, cwd))
        return finished(json.dumps(OUTPUTS))

    outputs = outputs_from_terraform(directory, run)

    assert calls == [(["terraform", "output", "-json", "-no-color"], directory)]
    assert outputs.values["sns-topic"].endswith("reward-notifications-dev")
    assert str(directory) in outputs.source


def test_a_real_terraform_on_path_is_run_in_the_stack_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default runner: whatever `terraform` PATH finds, with the stack directory as cwd."""
    directory = stack_dir(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "terraform"
    fake.write_text(
        f"#!/bin/sh\n[ \"$PWD\" = '{directory}' ] && [ \"$*\" = 'output -json -no-color' ] && cat outputs.json\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (directory / "outputs.json").write_text(json.dumps(OUTPUTS))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    assert load_outputs(directory, None).region == "eu-west-1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "the stack is not deployed: outputs file x lists no outputs (deploy it with make deploy)"),
        ("not json", "outputs file x is not JSON"),
        ('{"api-endpoint": "https://x"}', "outputs file x is not in the format of `terraform output -json`"),
        ("[1, 2]", "outputs file x is not in the format of `terraform output -json`"),
    ],
)
def test_outputs_that_name_no_deployment_are_refused(text: str, message: str) -> None:
    with pytest.raises(CliError) as refused:
        parse_outputs(text, "outputs file x")
    assert str(refused.value).startswith(message)


def test_a_missing_outputs_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"^cannot read the outputs file .*missing\.json: No such file or directory$"):
        load_outputs(None, tmp_path / "missing.json")


def test_a_directory_without_a_synthesized_stack_says_to_synthesize(tmp_path: Path) -> None:
    with pytest.raises(
        CliError, match=r"^no synthesized stack in .*: run `make synth` and deploy it, or pass --stack-dir"
    ):
        outputs_from_terraform(tmp_path, lambda command, cwd: finished(json.dumps(OUTPUTS)))


def test_terraform_missing_or_failing_is_one_line(tmp_path: Path) -> None:
    directory = stack_dir(tmp_path)

    def absent(command: list[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
        raise FileNotFoundError(command[0])

    with pytest.raises(CliError, match=r"^terraform is not on PATH: install it, or pass --outputs-file FILE$"):
        outputs_from_terraform(directory, absent)
    uninitialized = '\nError: Backend initialization required, please run "terraform init"\n\nReason: ...\n'
    with pytest.raises(CliError) as failed:
        outputs_from_terraform(directory, lambda command, cwd: finished(stderr=uninitialized, status=1))
    assert str(failed.value) == (
        f'terraform output failed in {directory}: Backend initialization required, please run "terraform init"'
    )


def test_terraform_output_of_a_stack_never_applied_is_not_deployed(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"^the stack is not deployed: terraform output in .* lists no outputs"):
        outputs_from_terraform(stack_dir(tmp_path), lambda command, cwd: finished("{}\n"))


def test_an_output_the_deployment_lacks_is_named() -> None:
    outputs = parse_outputs(json.dumps(OUTPUTS), "outputs file x")
    with pytest.raises(CliError, match=r"^the deployment has no output 'relay-dlq-url' \(outputs file x\)"):
        outputs["relay-dlq-url"]


def test_no_arn_output_leaves_the_region_to_the_aws_configuration() -> None:
    only_url = {"api-endpoint": OUTPUTS["api-endpoint"]}
    assert parse_outputs(json.dumps(only_url), "x").region is None
