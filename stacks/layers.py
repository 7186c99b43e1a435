"""Public Lambda layer ARNs per region.

Lambda Insights publishes its extension from a different account and version in each region
(AWS docs: "Available versions of the Lambda Insights extension"); the original app hard-wired
us-east-2's ARN into every region. A region missing here is refused by the configuration.
"""

# x86_64 LambdaInsightsExtension, commercial partition.
INSIGHTS_LAYER_ARNS: dict[str, str] = {
    "us-east-1": "arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:35",
    "us-east-2": "arn:aws:lambda:us-east-2:580247275435:layer:LambdaInsightsExtension:33",
    "us-west-1": "arn:aws:lambda:us-west-1:580247275435:layer:LambdaInsightsExtension:33",
    "us-west-2": "arn:aws:lambda:us-west-2:580247275435:layer:LambdaInsightsExtension:33",
    "af-south-1": "arn:aws:lambda:af-south-1:012438385374:layer:LambdaInsightsExtension:25",
    "ap-east-1": "arn:aws:lambda:ap-east-1:519774774795:layer:LambdaInsightsExtension:25",
    "ap-south-1": "arn:aws:lambda:ap-south-1:580247275435:layer:LambdaInsightsExtension:31",
    "ap-south-2": "arn:aws:lambda:ap-south-2:891564319516:layer:LambdaInsightsExtension:8",
    "ap-southeast-1": "arn:aws:lambda:ap-southeast-1:580247275435:layer:LambdaInsightsExtension:33",
    "ap-southeast-2": "arn:aws:lambda:ap-southeast-2:580247275435:layer:LambdaInsightsExtension:33",
    "ap-southeast-3": "arn:aws:lambda:ap-southeast-3:439286490199:layer:LambdaInsightsExtension:11",
    "ap-northeast-1": "arn:aws:lambda:ap-northeast-1:580247275435:layer:LambdaInsightsExtension:32",
    "ap-northeast-2": "arn:aws:lambda:ap-northeast-2:580247275435:layer:LambdaInsightsExtension:32",
    "ap-northeast-3": "arn:aws:lambda:ap-northeast-3:194566237122:layer:LambdaInsightsExtension:2",
    "ca-central-1": "arn:aws:lambda:ca-central-1:580247275435:layer:LambdaInsightsExtension:20",
    "eu-central-1": "arn:aws:lambda:eu-central-1:580247275435:layer:LambdaInsightsExtension:21",
    "eu-central-2": "arn:aws:lambda:eu-central-2:033019950311:layer:LambdaInsightsExtension:7",
    "eu-west-1": "arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension:21",
    "eu-west-2": "arn:aws:lambda:eu-west-2:580247275435:layer:LambdaInsightsExtension:21",
    "eu-west-3": "arn:aws:lambda:eu-west-3:580247275435:layer:LambdaInsightsExtension:20",
    "eu-north-1": "arn:aws:lambda:eu-north-1:580247275435:layer:LambdaInsightsExtension:20",
    "eu-south-1": "arn:aws:lambda:eu-south-1:339249233099:layer:LambdaInsightsExtension:8",
    "eu-south-2": "arn:aws:lambda:eu-south-2:352183217350:layer:LambdaInsightsExtension:2",
    "me-central-1": "arn:aws:lambda:me-central-1:732604637566:layer:LambdaInsightsExtension:6",
    "me-south-1": "arn:aws:lambda:me-south-1:285320876703:layer:LambdaInsightsExtension:13",
    "sa-east-1": "arn:aws:lambda:sa-east-1:580247275435:layer:LambdaInsightsExtension:20",
}

# Powertools for AWS Lambda (Python) v3 publishes the same account and version in every
# commercial region. Layer version 27 carries Powertools 3.23.0, the version requirements.txt
# pins for local runs and tests, so both run the same library.
POWERTOOLS_LAYER_VERSION = 27


def insights_layer_arn(region: str) -> str:
    return INSIGHTS_LAYER_ARNS[region]


def powertools_layer_arn(region: str) -> str:
    return (
        f"arn:aws:lambda:{region}:017000801446:layer:"
        f"AWSLambdaPowertoolsPythonV3-python312-x86_64:{POWERTOOLS_LAYER_VERSION}"
    )
