"""The OpenAPI schema says what every `/v1` endpoint returns, and the checked-in `schema.yml` is it.

Every `/v1` operation (found through the URL resolver, as the boundary matrix finds them) is called
with an ordinary request and its answer is validated against the schema's response for that status,
with every object closed: a key the schema does not declare fails the test as much as a missing one.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from tests.test_api_boundaries import (  # noqa: F401  # world is a fixture
    SERVICE_ACCOUNT_ENDPOINTS,
    call,
    example_request,
    fill,
    v1_operations,
    world,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def closed(fragment: Any, components: dict[str, Any]) -> Any:
    """The JSON Schema of an OpenAPI fragment: references inlined, `nullable` as a null type, and
    objects that list their properties closed to any other key."""
    if isinstance(fragment, list):
        return [closed(item, components) for item in fragment]
    if not isinstance(fragment, dict):
        return fragment
    if "$ref" in fragment:
        return closed(components[fragment["$ref"].rsplit("/", 1)[1]], components)
    shaped = {key: closed(value, components) for key, value in fragment.items() if key not in ("nullable", "readOnly")}
    if fragment.get("nullable"):
        shaped = {"anyOf": [shaped, {"type": "null"}]}
    elif "properties" in fragment and "additionalProperties" not in fragment:
        shaped["additionalProperties"] = False
    return shaped


def schema_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_no_v1_operation_describes_its_answer_as_a_bare_object(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or "content" not in response:
                    continue
                body = response["content"]["application/json"]["schema"]
                assert "$ref" in body or body.get("properties"), (method, path, status, body)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name", "method"), v1_operations(), ids=lambda value: value.replace("/", "_"))
def test_every_v1_answer_is_exactly_what_the_schema_says(world, openapi, route, name, method):  # noqa: F811
    kwargs, data = example_request(world, name, method)
    credential = "service_account_token" if name in SERVICE_ACCOUNT_ENDPOINTS else "own_token"
    response = call(Client(), method, fill(route, kwargs), data, world.tokens[credential])
    assert 200 <= response.status_code < 300, response.content
    documented = openapi["paths"][schema_path(route)][method]["responses"]
    assert str(response.status_code) in documented, (route, method, response.status_code, list(documented))
    content = documented[str(response.status_code)].get("content")
    if content is None:
        assert not response.content, (route, method, "answers a body the schema does not describe")
        return
    body_schema = closed(copy.deepcopy(content["application/json"]["schema"]), openapi["components"]["schemas"])
    jsonschema.validate(response.json(), body_schema, cls=jsonschema.Draft7Validator)


def test_errors_are_described_in_cronofys_shapes(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "422", "429"):
                assert status in responses, (method, path, status)
            assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ValidationErrorOutput")


def test_the_checked_in_schema_is_the_served_one(tmp_path):
    generated = tmp_path / "schema.yml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(generated)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "cronofy_site.settings_test"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert generated.read_text() == (ROOT / "schema.yml").read_text(), (
        "The API's schema changed: review the difference and run `make schema` to check it in."
    )


@pytest.mark.django_db
def test_a_service_accounts_answers_are_what_the_schema_says(world, openapi):  # noqa: F811
    """/v1/userinfo and /v1/resources answer a service account's token in their own shapes, which the
    schema describes too (the matrix calls them with an account's token)."""
    for route in ("userinfo", "resources"):
        response = Client().get(
            f"/v1/{route}", headers={"Authorization": f"Bearer {world.tokens['service_account_token']}"}
        )
        assert response.status_code == 200, response.content
        documented = openapi["paths"][f"/v1/{route}"]["get"]["responses"]["200"]["content"]["application/json"]
        body_schema = closed(copy.deepcopy(documented["schema"]), openapi["components"]["schemas"])
        jsonschema.validate(response.json(), body_schema, cls=jsonschema.Draft7Validator)
