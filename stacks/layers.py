"""Public Lambda layer ARNs per region.

Lambda Insights publishes one extension build under a different account and layer version in
each region, so a region's ARN is looked up in a table that holds exactly one build; the original
app hard-wired us-east-2's ARN into every region, and a later table mixed five builds. A region
missing here is refused by the configuration (stacks/config.py).
"""

# The Lambda Insights extension build every region runs (x86_64, commercial partition).
INSIGHTS_EXTENSION_VERSION = "1.0.498.0"

# Extension build -> region -> (publishing account, LambdaInsightsExtension layer version that
# carries that build). AWS publishes them in "Available versions of the Lambda Insights
# extension", x86-64, section 1.0.498.0:
#   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Lambda-Insights-extension-versionsx86-64.html
# The numbers here were read from aws-cdk's mirror of that table,
# CLOUDWATCH_LAMBDA_INSIGHTS_ARNS['1.0.498.0'].x86_64 in
#   github.com/aws/aws-cdk packages/aws-cdk-lib/region-info/build-tools/fact-tables.ts
#   @ 02a9c13e93419d66e794efd1e6b705a45b739056 (added by aws/aws-cdk#35751, opened 2025-10-15),
# read 2026-12-01. 1.0.498.0 is the newest build listed there, and it is published in all 26
# regions below. (aws/aws-cdk#36867 reports wrong numbers for this build's arm64 rows only; we
# use x86_64.) Bump it as a whole: keep one build here, never a row from another build.
INSIGHTS_LAYER_VERSIONS: dict[str, dict[str, tuple[str, int]]] = {
    "1.0.498.0": {
        "us-east-1": ("580247275435", 60),
        "us-east-2": ("580247275435", 60),
        "us-west-1": ("580247275435", 60),
        "us-west-2": ("580247275435", 60),
        "af-south-1": ("012438385374", 52),
        "ap-east-1": ("519774774795", 52),
        "ap-south-1": ("580247275435", 58),
        "ap-south-2": ("891564319516", 34),
        "ap-southeast-1": ("580247275435", 60),
        "ap-southeast-2": ("580247275435", 60),
        "ap-southeast-3": ("439286490199", 36),
        "ap-northeast-1": ("580247275435", 87),
        "ap-northeast-2": ("580247275435", 59),
        "ap-northeast-3": ("194566237122", 41),
        "ca-central-1": ("580247275435", 59),
        "eu-central-1": ("580247275435", 60),
        "eu-central-2": ("033019950311", 35),
        "eu-west-1": ("580247275435", 60),
        "eu-west-2": ("580247275435", 60),
        "eu-west-3": ("580247275435", 59),
        "eu-north-1": ("580247275435", 57),
        "eu-south-1": ("339249233099", 52),
        "eu-south-2": ("352183217350", 36),
        "me-central-1": ("732604637566", 35),
        "me-south-1": ("285320876703", 52),
        "sa-east-1": ("580247275435", 59),
    },
}

INSIGHTS_LAYER_ARNS: dict[str, str] = {
    region: f"arn:aws:lambda:{region}:{account}:layer:LambdaInsightsExtension:{layer_version}"
    for region, (account, layer_version) in INSIGHTS_LAYER_VERSIONS[INSIGHTS_EXTENSION_VERSION].items()
}

# Powertools for AWS Lambda (Python) v3 publishes each release under the same account and layer
# version in every commercial region. Release -> layer version, from the project's layer tables
# (docs/includes/_layer_homepage_x86.md in aws-powertools/powertools-lambda-python, 3.23.0 released
# 2025-11-13; layer docs updates #7354, #7565, #7636, #7757). requirements.txt pins the release
# used for local runs and tests; tests/unit/test_layers.py fails if this mapping doesn't know it.
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
POWERTOOLS_LAYER_VERSIONS: dict[str, int] = {"3.23.0": 27}
POWERTOOLS_RELEASE = "3.23.0"
POWERTOOLS_LAYER_VERSION = POWERTOOLS_LAYER_VERSIONS[POWERTOOLS_RELEASE]


def insights_layer_arn(region: str) -> str:
    return INSIGHTS_LAYER_ARNS[region]


def powertools_layer_arn(region: str) -> str:
    return f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
