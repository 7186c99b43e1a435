"""The generated and machine-readable docs match the synthesized stacks: docs/resources.md is what
tools/docs_reference.py writes for the default configuration (`make docs`), and docs/openapi.yaml
describes exactly the API routes the stack synthesizes, with the body schema API Gateway checks."""

import json
from pathlib import Path
from typing import cast

import pytest
import yaml

from stacks.api_schema import SIGNUP_SCHEMA
from tests.stack.conftest import PROJECT_ROOT, Synth
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
    assert api_routes(synth.json) == {("POST", "/signup"), ("GET", "/referrers/{code}")}
    assert documented == api_routes(synth.json)


def test_every_documented_route_requires_the_api_key_as_the_stack_does(openapi: dict, synth: Synth) -> None:
    assert all(method["api_key_required"] for method in synth.resources("aws_api_gateway_method").values())
    scheme = openapi["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    assert openapi["security"] == [{"apiKey": []}]
    for item in openapi["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert operation.get("security", openapi["security"]) == [{"apiKey": []}]
                assert {"403", "429", "500"} <= set(operation["responses"])


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
