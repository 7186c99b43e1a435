"""The synthesized Terraform as a whole: snapshot, `terraform validate`, no machine-specific paths."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.stack.conftest import PROJECT_ROOT, Synth

# The asset directory carries a hash of the Lambda zip: code edits change it, infrastructure
# edits don't, so the snapshot leaves it out (determinism and packaging have their own tests).
ASSET_HASH = re.compile(r"(assets/[^/\"]+/)[0-9A-F]{32}/")


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def _without_asset_hashes(document: dict) -> dict:
    return json.loads(ASSET_HASH.sub(r"\1<zip-hash>/", json.dumps(document)))


def test_synthesized_terraform_matches_the_snapshot(synth: Synth, json_snapshot) -> None:
    """Any change to the infrastructure shows up as a reviewable diff (`make snapshot` accepts it)."""
    assert _without_asset_hashes(synth.json) == json_snapshot


def test_remote_state_configuration_matches_the_snapshot(prod_synth: Synth, json_snapshot) -> None:
    assert _without_asset_hashes(prod_synth.json) == json_snapshot


def test_no_path_of_the_build_machine_leaks_into_the_output(synth: Synth) -> None:
    text = (synth.stack_dir / "cdk.tf.json").read_text()
    for machine_path in {str(PROJECT_ROOT), str(synth.outdir), str(Path.home())}:
        assert machine_path not in text
    for function in synth.resources("aws_lambda_function").values():
        assert not Path(function["filename"]).is_absolute()
        assert (synth.stack_dir / function["filename"]).is_file()


TERRAFORM = shutil.which("terraform")


def _terraform(stack_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args], cwd=stack_dir, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.skipif(TERRAFORM is None, reason="terraform CLI not installed")
def test_terraform_validate_accepts_the_output(synth: Synth, tmp_path: Path) -> None:
    """cdktf's own matcher runs `terraform init` (with the backend) and `terraform validate -json`."""
    from cdktf import Testing

    # Only the local-state stack: init with an S3 backend would contact the state bucket.
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    manifest["stacks"] = {"tap-stack": manifest["stacks"]["tap-stack"]}
    shutil.copytree(synth.stack_dir, tmp_path / "stacks" / "tap-stack")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    valid = Testing.to_be_valid_terraform(str(tmp_path))
    if not valid:  # the matcher only answers yes/no: show terraform's own words
        print(_terraform(tmp_path / "stacks" / "tap-stack", "validate").stdout)
    assert valid


@pytest.mark.skipif(TERRAFORM is None, reason="terraform CLI not installed")
def test_terraform_validate_accepts_the_remote_state_configuration(prod_synth: Synth) -> None:
    init = _terraform(prod_synth.stack_dir, "init", "-backend=false", "-input=false", "-no-color")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _terraform(prod_synth.stack_dir, "validate", "-json", "-no-color")
    assert json.loads(validate.stdout)["valid"], validate.stdout
