"""The generated and machine-readable docs match the synthesized stacks: docs/resources.md is what
tools/docs_reference.py writes for the default configuration (`make docs`), and docs/openapi.yaml
describes exactly the API routes the stack synthesizes, with the body schema API Gateway checks."""

import json
from pathlib import Path
from typing import cast

import pytest
import yaml

from stacks.api_schema import REVERSE_SCHEMA, SIGNUP_SCHEMA
from tests.stack.conftest import PROJECT_ROOT, Synth
from tests.stack.test_security import ADMIN_ROUTES, PUBLIC_ROUTES, methods_by_route
from tools.docs_reference import OPTIONAL_OUTPUTS, OUTPUTS, RESOURCE_TYPES, api_routes, main, render

DOCS = PROJECT_ROOT / "docs"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def default_stacks(synths: dict[str, Synth]) -> dict[str, dict]:
    return {"tap-account": synths["tap-account"].json, "tap-stack": synths["tap-stack"].json}


def test_the_resources_page_is_the_generators_output_for_the_default_synth(synths: dict[str, Synth]) -> None:
    committed = (DOCS / "resources.md").read_text()
    assert committed == render(default_stacks(synths)), "docs/resources.md is out of date: run `make docs`"


def test_every_resource_type_and_output_of_every_configuration_has_a_description(
    synths: dict[str, Synth],
) -> None:
    for name, synth in synths.items():
        assert not set(synth.json.get("resource", {})) - set(RESOURCE_TYPES), name
        assert not set(synth.json.get("output", {})) - set(OUTPUTS) - set(OPTIONAL_OUTPUTS), name


def test_optional_outputs_appear_only_with_people_let_in(synth: Synth, people_synth: Synth) -> None:
    assert set(OPTIONAL_OUTPUTS) <= set(people_synth.json["output"])
    assert not set(OPTIONAL_OUTPUTS) & set(synth.json["output"])


def test_the_generator_refuses_another_configuration(synths: dict[str, Synth], prod_synth: Synth) -> None:
    with pytest.raises(ValueError, match="default configuration"):
        render({**default_stacks(synths), "tap-stack": prod_synth.json})


def test_the_generator_names_what_it_cannot_describe(synths: dict[str, Synth]) -> None:
    stacks = default_stacks(synths)
    stack = {**stacks["tap-stack"], "output": {**stacks["tap-stack"]["output"], "new-output": {"value": "x"}}}
    with pytest.raises(ValueError, match="output new-output"):
        render({**stacks, "tap-stack": stack})


# OpenAPI ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return yaml.safe_load((DOCS / "openapi.yaml").read_text())


def test_the_openapi_document_is_valid_openapi(openapi: dict) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    assert openapi["openapi"].startswith("3.")
    validator.validate(openapi)


def test_the_openapi_document_lists_exactly_the_synthesized_routes(openapi: dict, synth: Synth) -> None:
    documented = {
        (method.upper(), path) for path, item in openapi["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert api_routes(synth.json) == PUBLIC_ROUTES | ADMIN_ROUTES
    assert documented == api_routes(synth.json)


def test_every_documented_route_is_secured_as_the_stack_secures_it(openapi: dict, synth: Synth) -> None:
    """The public routes with the API key, the admin routes with SigV4 (AWS_IAM) and no key."""
    keyed = {route for route, method in methods_by_route(synth).items() if method["api_key_required"]}
    signed = {route for route, method in methods_by_route(synth).items() if method["authorization"] == "AWS_IAM"}
    assert (keyed, signed) == (PUBLIC_ROUTES, ADMIN_ROUTES)
    scheme = openapi["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    sigv4 = openapi["components"]["securitySchemes"]["sigv4"]
    assert (sigv4["type"], sigv4["in"], sigv4["name"]) == ("apiKey", "header", "Authorization")
    assert sigv4["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert openapi["security"] == [{"apiKey": []}]
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                expected = [{"sigv4": []}] if (method.upper(), path) in ADMIN_ROUTES else [{"apiKey": []}]
                assert operation.get("security", openapi["security"]) == expected, (method, path)
                assert {"403", "500"} <= set(operation["responses"]), (method, path)
                if (method.upper(), path) in PUBLIC_ROUTES:
                    assert "429" in operation["responses"], (method, path)


def test_every_admin_route_documents_what_the_handler_answers(openapi: dict) -> None:
    for method, path in ADMIN_ROUTES:
        answers = set(openapi["paths"][path][method.lower()]["responses"])
        # The review queue reads only: no 404, 409 or 503 (busy is a write's answer).
        expected = {"200", "400", "403", "500"} | ({"404", "409", "503"} if method == "POST" else set())
        assert expected <= answers, (method, path)


def test_the_openapi_reverse_body_is_the_schema_api_gateway_checks(openapi: dict) -> None:
    documented = openapi["components"]["schemas"]["Reverse"]
    for key in ("type", "required", "additionalProperties"):
        assert documented[key] == REVERSE_SCHEMA[key]
    reason = cast(dict[str, dict], REVERSE_SCHEMA["properties"])["reason"]
    assert {k: documented["properties"]["reason"][k] for k in reason} == reason


def test_the_openapi_signup_body_is_the_schema_api_gateway_checks(openapi: dict) -> None:
    documented = openapi["components"]["schemas"]["Signup"]
    for key in ("type", "required", "additionalProperties"):
        assert documented[key] == SIGNUP_SCHEMA[key]
    gateway_properties = cast(dict[str, dict], SIGNUP_SCHEMA["properties"])
    assert set(documented["properties"]) == set(gateway_properties)
    for name, rules in gateway_properties.items():
        # The document may add descriptions; every rule API Gateway applies is there, unchanged.
        assert {k: documented["properties"][name][k] for k in rules} == rules, name


def test_the_generator_writes_the_page_from_a_stacks_directory(tmp_path: Path, synths: dict[str, Synth]) -> None:
    output = tmp_path / "resources.md"
    assert main([str(tmp_path / "nowhere"), str(output)]) == 1
    for name, document in default_stacks(synths).items():
        (tmp_path / "stacks" / name).mkdir(parents=True)
        (tmp_path / "stacks" / name / "cdk.tf.json").write_text(json.dumps(document))
    assert main([str(tmp_path / "stacks"), str(output)]) == 0
    assert output.read_text() == (DOCS / "resources.md").read_text()
