"""The public layer table: one Lambda Insights build for every region, and the Powertools layer
that carries the release requirements.txt pins (stacks/layers.py says where the numbers come from)."""

import re
from pathlib import Path

import pytest

from stacks import layers

ROOT = Path(__file__).resolve().parents[2]
INSIGHTS_ARN = re.compile(
    r"^arn:aws:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):layer:LambdaInsightsExtension:(?P<version>\d+)$"
)
POWERTOOLS_PIN = re.compile(r"^aws-lambda-powertools(\[[^\]]+\])?==(?P<version>[^\s;#]+)", re.MULTILINE)
REGIONS = sorted(layers.INSIGHTS_LAYER_ARNS)


def pinned_powertools() -> str:
    match = POWERTOOLS_PIN.search((ROOT / "requirements.txt").read_text())
    assert match, "requirements.txt does not pin aws-lambda-powertools exactly"
    return match["version"]


def test_the_table_holds_exactly_the_named_extension_build() -> None:
    assert re.fullmatch(r"1\.0\.\d+\.0", layers.INSIGHTS_EXTENSION_VERSION)
    assert set(layers.INSIGHTS_LAYER_VERSIONS) == {layers.INSIGHTS_EXTENSION_VERSION}


def test_every_supported_region_runs_the_named_build() -> None:
    build = layers.INSIGHTS_LAYER_VERSIONS[layers.INSIGHTS_EXTENSION_VERSION]
    assert sorted(build) == REGIONS
    assert len(REGIONS) >= 20  # the regions the configuration accepts; dropping one is a decision
    for region in REGIONS:
        account, layer_version = build[region]
        assert layers.insights_layer_arn(region).endswith(f":{account}:layer:LambdaInsightsExtension:{layer_version}")


@pytest.mark.parametrize("region", REGIONS)
def test_insights_arn_names_its_own_region_and_that_regions_account(region: str) -> None:
    match = INSIGHTS_ARN.match(layers.insights_layer_arn(region))
    assert match, layers.insights_layer_arn(region)
    account, layer_version = layers.INSIGHTS_LAYER_VERSIONS[layers.INSIGHTS_EXTENSION_VERSION][region]
    assert (match["region"], match["account"], int(match["version"])) == (region, account, layer_version)
    assert layer_version > 0


def test_powertools_layer_carries_the_pinned_release() -> None:
    pinned = pinned_powertools()
    assert pinned in layers.POWERTOOLS_LAYER_VERSIONS, (
        f"requirements.txt pins aws-lambda-powertools=={pinned}, but stacks/layers.py does not know which "
        f"{layers.POWERTOOLS_LAYER_NAME} layer version carries it; add it to POWERTOOLS_LAYER_VERSIONS"
    )
    assert pinned == layers.POWERTOOLS_RELEASE
    assert layers.POWERTOOLS_LAYER_VERSIONS[pinned] == layers.POWERTOOLS_LAYER_VERSION


@pytest.mark.parametrize("region", REGIONS)
def test_powertools_arn_names_its_region_and_the_pinned_layer_version(region: str) -> None:
    expected_version = layers.POWERTOOLS_LAYER_VERSIONS[pinned_powertools()]
    assert layers.powertools_layer_arn(region) == (
        f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:{expected_version}"
    )
