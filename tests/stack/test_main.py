"""`python main.py` as users and CI run it: config errors stop it cleanly; its output is reproducible."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack.conftest import PROJECT_ROOT, Synth

CONFIG_VARIABLES = (
    "ENVIRONMENT_SUFFIX",
    "AWS_REGION",
    "STATE_BUCKET",
    "STATE_BUCKET_REGION",
    "DELETION_PROTECTION",
    "LOG_RETENTION_DAYS",
)


def run_main(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    clean["PYTHONPATH"] = str(PROJECT_ROOT)
    clean["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py")],
        cwd=cwd,
        env=clean | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ENVIRONMENT_SUFFIX", "Prod_1"), ("AWS_REGION", "us-east"), ("LOG_RETENTION_DAYS", "0")],
)
def test_bad_configuration_exits_non_zero_with_one_message_and_writes_nothing(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = run_main(tmp_path, **{variable: value})
    assert result.returncode == 2
    assert f"{variable}={value!r}" in result.stderr
    assert result.stderr.startswith("error: invalid configuration")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdktf.out").exists()


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.run_last
def test_synth_after_the_whole_suite_is_byte_identical(synth: Synth, tmp_path: Path) -> None:
    """The session's synth ran first; this one runs after every other test (caches, mtimes, state)."""
    result = run_main(tmp_path)
    assert result.returncode == 0, result.stderr
    again = tmp_path / "cdktf.out" / "stacks" / "tap-stack"
    assert (again / "cdk.tf.json").read_bytes() == (synth.stack_dir / "cdk.tf.json").read_bytes()
    first_assets, second_assets = _tree(synth.stack_dir / "assets"), _tree(again / "assets")
    assert sorted(first_assets) == sorted(second_assets)
    assert len([name for name in first_assets if name.endswith(".zip")]) == 4  # reward, payout, relay, admin
    for name, content in first_assets.items():
        assert second_assets[name] == content, name
