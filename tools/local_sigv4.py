"""API Gateway's SigV4 check of an AWS_IAM method, for the local stand-in of the API.

moto's API Gateway does not authorize IAM methods (tools/emulator_gaps.py), and its functions run
in this process anyway (tools/local_lambda.py), so the stand-in does what API Gateway would do
before the admin function runs: refuse a request without a valid SigV4 signature for
`execute-api` in the deployment's region (recomputed here with the secret of the emulator's fake
credentials), and hand the function the signer's ARN as `requestContext.identity.userArn`. Which
IAM policies allow the caller is not evaluated: moto evaluates none.
"""

import hmac
import re
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>[0-9]{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r" SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def sigv4_refusal(
    method: str, url: str, body: bytes | None, headers: Mapping[str, str], *, secret_key: str, region: str
) -> str | None:
    """None when the request is signed as API Gateway requires; else API Gateway's message for a 403."""
    given = {name.lower(): value for name, value in headers.items()}
    authorization = given.get("authorization")
    if not authorization:
        return "Missing Authentication Token"
    parts = _AUTHORIZATION.fullmatch(authorization)
    if parts is None:
        return f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature': {authorization!r}"
    if (parts["service"], parts["region"]) != (SERVICE, region):
        return (
            f"Credential should be scoped to a valid region and service: {parts['region']}/{parts['service']}, "
            f"not {region}/{SERVICE}"
        )
    timestamp = given.get("x-amz-date", "")
    if timestamp[:8] != parts["date"]:
        return "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
    signed_names = parts["signed"].split(";")
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={name: value for name, value in given.items() if name in signed_names and name != "host"},
    )
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(parts["key"], secret_key, given.get("x-amz-security-token")), SERVICE, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, parts["signature"]):
        return "The request signature we calculated does not match the signature you provided."
    return None
