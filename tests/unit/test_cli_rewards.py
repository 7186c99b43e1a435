"""`referrals review | qualify | approve | reverse`: signed requests to the admin routes, input checked
with the API's own rules before any call, and each refusal one line with exit status 1."""

import http.server
import json
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from referrals.admin_requests import parse_admin_request
from referrals.lifecycle import AdminAction
from referrals.validation import ValidationError
from referrals_cli.app import app
from referrals_cli.aws import Aws
from referrals_cli.deployed_code import ApiAnswer, DeployedCode, https_send, signed_headers, signed_request
from referrals_cli.errors import CliError
from referrals_cli.rewards import Action, checked_reason, checked_user_id
from tools.local_sigv4 import sigv4_refusal

REGION = "eu-west-1"
API = "https://abc.execute-api.eu-west-1.amazonaws.com/dev"
POLICY = "arn:aws:iam::123456789012:policy/referral-admin-callers-dev"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "session-token",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_PROFILE": None,
    "AWS_EC2_METADATA_DISABLED": "true",
}
REWARD = {
    "userId": "bob",
    "referrerId": "alice",
    "rewardAmount": Decimal("10.00"),
    "status": "payable",
    "qualified": True,
    "payableAt": "2026-12-08T02:00:00.000Z",
}


def queued(user: str, signals: list[str] | None = None) -> dict[str, Any]:
    return {
        "userId": user,
        "referrerId": "alice",
        "rewardAmount": Decimal("12.5"),
        "signals": ["email_of_referrer"] if signals is None else signals,
        "signupDate": "2026-12-01T20:00:00.123Z",
        "qualified": False,
    }


class FakeAdminApi:
    """The admin routes as API Gateway would answer them, recording what was sent (headers included)."""

    def __init__(self, *answers: ApiAnswer) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    def __call__(self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> ApiAnswer:
        self.sent.append((method, url, data, dict(headers)))
        return self.answers.pop(0)

    @property
    def code(self) -> DeployedCode:
        return DeployedCode(invoke=None, get=None, signed=self)  # type: ignore[arg-type]


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    outputs = {
        "api-endpoint": API,
        "admin-caller-policy-arn": POLICY,
        "sns-topic": f"arn:aws:sns:{REGION}:123456789012:reward-notifications-dev",
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({name: {"value": value} for name, value in outputs.items()}))
    return path


def referrals(outputs_file: Path, api: FakeAdminApi, *args: str, env: dict[str, str | None] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(app, ["--outputs-file", str(outputs_file), *args], obj=api.code, env=env or CREDENTIALS)


def one_line_failure(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    return result.stderr.removeprefix("error: ").rstrip("\n")


# Signing -----------------------------------------------------------------------------------------


def test_each_request_is_signed_for_execute_api_in_the_deployments_region(outputs_file: Path) -> None:
    api = FakeAdminApi(ApiAnswer(200, REWARD))

    result = referrals(outputs_file, api, "reverse", "bob", "--reason", "refunded order 4411", "--json")

    assert result.exit_code == 0, result.output
    [(method, url, data, headers)] = api.sent
    assert (method, url) == ("POST", f"{API}/referrals/bob/reverse")
    assert json.loads(data or b"") == {"reason": "refunded order 4411"}
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert f"/{REGION}/execute-api/aws4_request, SignedHeaders=" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "session-token"
    secret = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    assert sigv4_refusal(method, url, data, headers, secret_key=secret, region=REGION) is None


def test_the_signature_covers_the_body_the_query_and_the_region() -> None:
    session = boto3.session.Session(aws_access_key_id="AKID", aws_secret_access_key="secret", region_name=REGION)
    url = f"{API}/referrals?status=flagged&limit=50&nextToken=eyJ1c2VySWQiOiAiYiJ9"
    signed = signed_headers(Aws(session), "GET", url, None)
    assert sigv4_refusal("GET", url, None, signed.headers, secret_key="secret", region=REGION) is None

    assert sigv4_refusal(
        "GET", url.replace("limit=50", "limit=51"), None, signed.headers, secret_key="secret", region=REGION
    )
    assert sigv4_refusal("GET", url, None, signed.headers, secret_key="other", region=REGION)
    assert sigv4_refusal("GET", url, None, signed.headers, secret_key="secret", region="us-east-1")
    post = signed_headers(Aws(session), "POST", f"{API}/referrals/bob/reverse", {"reason": "a"})
    forged = json.dumps({"reason": "b"}).encode()
    assert (
        sigv4_refusal(
            "POST", f"{API}/referrals/bob/reverse", post.body, post.headers, secret_key="secret", region=REGION
        )
        is None
    )
    assert sigv4_refusal(
        "POST", f"{API}/referrals/bob/reverse", forged, post.headers, secret_key="secret", region=REGION
    )
    assert sigv4_refusal("GET", url, None, {}, secret_key="secret", region=REGION) == "Missing Authentication Token"


def test_without_credentials_nothing_is_sent(outputs_file: Path) -> None:
    api = FakeAdminApi()
    no_credentials = {
        **CREDENTIALS,
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
    }
    no_credentials |= {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None, "AWS_WEB_IDENTITY_TOKEN_FILE": None}

    line = one_line_failure(referrals(outputs_file, api, "approve", "bob", env=no_credentials))

    assert line.startswith("no AWS credentials: set AWS_PROFILE or pass --profile")
    assert api.sent == []


# The actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["qualify", "approve"])
def test_qualify_and_approve_post_an_empty_object_and_print_the_reward(outputs_file: Path, action: str) -> None:
    api = FakeAdminApi(ApiAnswer(200, REWARD), ApiAnswer(200, REWARD))

    as_json = referrals(outputs_file, api, action, "bob", "--json")
    shown = referrals(outputs_file, api, action, "bob")

    assert [(m, u, d) for m, u, d, _ in api.sent] == [("POST", f"{API}/referrals/bob/{action}", b"{}")] * 2
    assert json.loads(as_json.stdout) == {**REWARD, "rewardAmount": "10.00"}
    assert shown.exit_code == 0, shown.output
    assert f"{action}: the reward of bob" in shown.stdout
    assert "status      payable" in shown.stdout
    assert "payable at  2026-12-08 02:00:00.000 UTC" in shown.stdout


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            ApiAnswer(409, {"error": "cannot approve a reward that has been reversed", "status": "reversed"}),
            "cannot approve a reward that has been reversed (status reversed)",
        ),
        (
            ApiAnswer(404, {"error": "userId 'bob' has no referral"}),
            "unknown referral 'bob': the API answered 404 (userId 'bob' has no referral)",
        ),
        (
            ApiAnswer(403, {"message": "User: arn:aws:iam::123456789012:user/ops is not authorized"}),
            "access denied: the API refused the signed request: 403 User: arn:aws:iam::123456789012:user/ops is not "
            f"authorized; attach the managed policy of the stack output admin-caller-policy-arn ({POLICY}) to the "
            "caller's role or user",
        ),
        (
            ApiAnswer(400, {"error": "approve takes no fields"}),
            "the API refused the request: 400 approve takes no fields",
        ),
        (
            ApiAnswer(503, {"error": "the reward is busy; retry shortly"}),
            "the API answered 503: the reward is busy; retry shortly; retry later",
        ),
        (ApiAnswer(502, "<html>Bad Gateway</html>"), "the API answered 502: <html>Bad Gateway</html>"),
    ],
)
def test_each_refusal_is_one_line_and_exit_status_1(outputs_file: Path, answer: ApiAnswer, line: str) -> None:
    assert one_line_failure(referrals(outputs_file, FakeAdminApi(answer), "approve", "bob")) == line


@pytest.mark.parametrize("user", ["", "a" * 65, "a/b", "../qualify", "b?o", "é", "bob#clawback"])
def test_a_user_id_the_api_would_refuse_is_refused_before_any_call(tmp_path: Path, user: str) -> None:
    api = FakeAdminApi()
    never_read = tmp_path / "never-read.json"
    for command in (["qualify", user], ["approve", user], ["reverse", user, "--reason", "fraud"]):
        line = one_line_failure(referrals(never_read, api, *command))
        assert line.startswith("user id must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'")
    assert api.sent == []


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        ("", "--reason must be 1-500 characters, not 0"),
        ("x" * 501, "--reason must be 1-500 characters, not 501"),
        ("   ", "--reason must not be blank"),
        ("two\nlines", "--reason must not contain control characters (found U+000A)"),
    ],
)
def test_a_reason_the_api_would_refuse_is_refused_before_any_call(tmp_path: Path, reason: str, line: str) -> None:
    api = FakeAdminApi()
    assert one_line_failure(referrals(tmp_path / "never-read.json", api, "reverse", "bob", "--reason", reason)) == line
    assert api.sent == []


def test_reverse_needs_a_reason(outputs_file: Path) -> None:
    result = referrals(outputs_file, FakeAdminApi(), "reverse", "bob")
    assert result.exit_code == 2
    assert "Missing option '--reason'" in result.stderr


@given(reason=st.text(max_size=520))
def test_the_cli_accepts_a_reason_exactly_when_the_api_does(reason: str) -> None:
    try:
        parse_admin_request(AdminAction.REVERSE, {"userId": "bob"}, json.dumps({"reason": reason}), False)
    except ValidationError:
        with pytest.raises(CliError):
            checked_reason(reason)
    else:
        assert checked_reason(reason) == reason


@given(user=st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
def test_the_cli_accepts_a_user_id_exactly_when_the_api_does(user: str) -> None:
    try:
        parse_admin_request(AdminAction.APPROVE, {"userId": user}, None, False)
    except ValidationError:
        with pytest.raises(CliError):
            checked_user_id(user)
    else:
        assert checked_user_id(user) == user


def test_the_actions_are_the_apis() -> None:
    assert {action.value for action in Action} == {action.value for action in AdminAction}


# The review queue --------------------------------------------------------------------------------


def sent_queries(api: FakeAdminApi) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(url).query) for _, url, _, _ in api.sent]


def test_review_shows_one_page_and_says_when_more_follow(outputs_file: Path) -> None:
    api = FakeAdminApi(ApiAnswer(200, {"items": [queued("bob"), queued("carol", [])], "nextToken": "dG9rZW4="}))

    shown = referrals(outputs_file, api, "review", "--limit", "2")

    assert shown.exit_code == 0, shown.output
    assert sent_queries(api) == [{"status": ["flagged"], "limit": ["2"]}]
    assert urlsplit(api.sent[0][1]).path == "/dev/referrals"
    assert "Flagged rewards: 2 (oldest first)" in shown.stdout
    assert "│ bob   │ alice    │  12.50 │ email_of_referrer │ 2026-12-01 │ no        │" in shown.stdout
    assert "│ carol │ alice    │  12.50 │ -                 │" in shown.stdout
    assert "More flagged rewards follow: `referrals review --all` lists them all" in shown.stdout


def test_review_all_follows_next_token_to_the_last_page(outputs_file: Path) -> None:
    api = FakeAdminApi(
        ApiAnswer(200, {"items": [queued("bob")], "nextToken": "eyJ1IjogMX0="}),
        ApiAnswer(200, {"items": [], "nextToken": "eyJ1IjogMn0="}),  # an empty page may still have a next one
        ApiAnswer(200, {"items": [queued("carol", ["referral_burst", "email_of_other_user"])]}),
    )

    document = json.loads(referrals(outputs_file, api, "review", "--all", "--json").stdout)

    assert sent_queries(api) == [
        {"status": ["flagged"], "limit": ["50"]},
        {"status": ["flagged"], "limit": ["50"], "nextToken": ["eyJ1IjogMX0="]},
        {"status": ["flagged"], "limit": ["50"], "nextToken": ["eyJ1IjogMn0="]},
    ]
    assert "nextToken=eyJ1IjogMX0%3D" in api.sent[1][1]  # '=' encoded, as signed
    assert document == {
        "items": [
            {**queued("bob"), "rewardAmount": "12.50"},
            {**queued("carol", ["referral_burst", "email_of_other_user"]), "rewardAmount": "12.50"},
        ]
    }


def test_an_empty_queue_says_so(outputs_file: Path) -> None:
    shown = referrals(outputs_file, FakeAdminApi(ApiAnswer(200, {"items": []})), "review")
    assert shown.exit_code == 0
    assert shown.stdout == "No flagged rewards\n"


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_review_limit_is_the_apis_1_to_100(outputs_file: Path, limit: str) -> None:
    api = FakeAdminApi()
    assert referrals(outputs_file, api, "review", "--limit", limit).exit_code == 2
    assert api.sent == []


def test_review_refused_names_the_policy_to_attach(outputs_file: Path) -> None:
    api = FakeAdminApi(ApiAnswer(403, {"message": "Missing Authentication Token"}))
    line = one_line_failure(referrals(outputs_file, api, "review"))
    assert line.startswith("access denied: the API refused the signed request: 403 Missing Authentication Token;")
    assert f"admin-caller-policy-arn ({POLICY})" in line


def test_the_signed_request_on_the_wire_verifies_as_sent(tmp_path: Path) -> None:
    """Through urllib to a local server: the Host, the path and the %3D of the query arrive as signed."""
    received: list[tuple[str, str, bytes, dict[str, str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(("POST", self.path, body, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"userId": "bob", "status": "reversed"}).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    session = boto3.session.Session(aws_access_key_id="AKID", aws_secret_access_key="secret", region_name=REGION)
    try:
        answer = signed_request(Aws(session), https_send)(
            "POST", f"{base}/dev/referrals/bob/reverse?x=a%3D", {"reason": "é"}
        )
    finally:
        thread.join(timeout=10)
        server.server_close()

    assert (answer.status, answer.body) == (200, {"userId": "bob", "status": "reversed"})
    [(method, path, body, headers)] = received
    assert sigv4_refusal(method, f"{base}{path}", body, headers, secret_key="secret", region=REGION) is None
